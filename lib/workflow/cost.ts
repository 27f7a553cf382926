import { z } from 'zod';
import { runtimeResources } from '../aws/runtime-env.ts';
import { envSetting, type Env } from '../env.ts';
import { ConfigError } from '../errors.ts';
import { formatIssues } from '../validation.ts';
import { FARGATE_ENV } from './fargate-task.ts';

/**
 * What a run's compute cost, estimated: measured seconds times the configured sizes times list
 * prices. Nothing here is billed or measured by AWS (nothing can deploy from here); the prices are
 * assumed list prices, check the AWS pricing pages. The one table of prices: infra/README.md
 * quotes the same numbers ("Routing revisited").
 */
export const PRICE_TABLE = {
  /** When the prices were taken and where they apply. */
  date: '2026-12-01',
  region: 'us-east-1',
  note: 'assumed list prices, check the AWS pricing pages',
  lambda: {
    /** x86; a GB here is 1,024 MB of configured memory, as Lambda bills it. */
    usdPerGbSecond: 0.0000166667,
    usdPerRequest: 0.2 / 1_000_000,
  },
  fargate: {
    /** Linux/x86, per second (1-minute minimum, not applied: an estimate of the work, not the bill). */
    usdPerVcpuHour: 0.04048,
    usdPerGbHour: 0.004445,
  },
  stepFunctions: {
    /** Standard workflows. */
    usdPerStateTransition: 0.025 / 1000,
  },
  /** S3 requests and storage are not counted: cents per month at this project's volumes. */
} as const;

/** The size a piece of work ran at, as configured (not as used). */
export type ComputeSize =
  | { runtime: 'lambda'; memoryMiB: number }
  | { runtime: 'fargate'; cpuUnits: number; memoryMiB: number };

const SECONDS_PER_HOUR = 3600;
const MIB_PER_GB = 1024;
const CPU_UNITS_PER_VCPU = 1024;

/** An estimate of one run's training compute, as training.json records it. */
export const TrainingCost = z.strictObject({
  basis: z.literal('estimate'),
  priceTable: z.strictObject({ date: z.string(), region: z.string() }),
  lambdaGbSeconds: z.number().min(0).optional(),
  lambdaRequests: z.int().min(0).optional(),
  fargateVcpuSeconds: z.number().min(0).optional(),
  fargateGbSeconds: z.number().min(0).optional(),
  usd: z.number().min(0),
});
export type TrainingCost = z.infer<typeof TrainingCost>;

export function lambdaUsd(gbSeconds: number, requests: number): number {
  return gbSeconds * PRICE_TABLE.lambda.usdPerGbSecond + requests * PRICE_TABLE.lambda.usdPerRequest;
}

export function fargateUsd(vcpuSeconds: number, gbSeconds: number): number {
  return (vcpuSeconds * PRICE_TABLE.fargate.usdPerVcpuHour + gbSeconds * PRICE_TABLE.fargate.usdPerGbHour) / SECONDS_PER_HOUR;
}

export function stepFunctionsUsd(stateTransitions: number): number {
  return stateTransitions * PRICE_TABLE.stepFunctions.usdPerStateTransition;
}

/**
 * The estimated cost of `seconds` of work at `size`. A Lambda's training spans `requests`
 * invocations (continuation loops: default 1).
 */
export function estimateCost(size: ComputeSize, seconds: number, requests = 1): TrainingCost {
  if (!(seconds >= 0)) throw new RangeError(`seconds must be a non-negative number, got ${seconds}`);
  const priceTable = { date: PRICE_TABLE.date, region: PRICE_TABLE.region };
  const gbSeconds = (size.memoryMiB / MIB_PER_GB) * seconds;
  if (size.runtime === 'lambda') {
    return { basis: 'estimate', priceTable, lambdaGbSeconds: gbSeconds, lambdaRequests: requests, usd: lambdaUsd(gbSeconds, requests) };
  }
  const vcpuSeconds = (size.cpuUnits / CPU_UNITS_PER_VCPU) * seconds;
  return { basis: 'estimate', priceTable, fargateVcpuSeconds: vcpuSeconds, fargateGbSeconds: gbSeconds, usd: fargateUsd(vcpuSeconds, gbSeconds) };
}

/** Fargate's task sizes: 0.25 to 16 vCPUs, 0.5 to 120 GiB. */
const CpuUnits = z.string().regex(/^\d+$/, 'must be a whole number of CPU units').transform(Number).pipe(z.int().min(256).max(16_384));
const TaskMemoryMiB = z.string().regex(/^\d+$/, 'must be a whole number of MiB').transform(Number).pipe(z.int().min(512).max(122_880));

/**
 * The size this process runs at, from its environment: a Fargate task's (the task definition's
 * FMNIST_TASK_CPU_UNITS and FMNIST_TASK_MEMORY_MIB), else a Lambda function's memory, else none
 * (a laptop). A malformed value fails, naming the variable.
 */
export function computeSizeFrom(env: Env): ComputeSize | undefined {
  if (env[FARGATE_ENV.taskCpuUnits] !== undefined || env[FARGATE_ENV.taskMemoryMiB] !== undefined) {
    return {
      runtime: 'fargate',
      cpuUnits: envSetting(env, FARGATE_ENV.taskCpuUnits, CpuUnits, { required: true }),
      memoryMiB: envSetting(env, FARGATE_ENV.taskMemoryMiB, TaskMemoryMiB, { required: true }),
    };
  }
  const { memoryMiB } = runtimeResources(env);
  return memoryMiB === undefined ? undefined : { runtime: 'lambda', memoryMiB };
}

/** A stored cost (training.json read back), or a ConfigError naming where and which field. */
export function parseTrainingCost(json: unknown, where: string): TrainingCost {
  const parsed = TrainingCost.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`${where}: "cost" is not a cost estimate (${formatIssues(parsed.error.issues).join('; ')})`);
}
