import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { ENV, requiredEnv, type Env } from '../env.ts';
import { s3Client } from './clients.ts';
import { defaultMetrics } from './metrics.ts';

/** What a handler talks to; tests pass their own, Lambda gets the defaults. */
export interface HandlerDeps {
  s3?: S3Client;
  bucket?: string;
  logger?: Logger;
  /** CloudWatch metrics; by default only in Lambda or on Fargate (see defaultMetrics). */
  metrics?: Metrics;
}

export interface ResolvedDeps {
  s3: S3Client;
  bucket: string;
  logger: Logger;
  metrics?: Metrics;
}

/**
 * The logger is made once per container; the client and bucket are looked up on first use, so
 * importing a handler (tests, the local runner) needs no environment. `env`: the handler's
 * environment, which the handler module passes.
 */
export function handlerDeps(deps: HandlerDeps, serviceName: string, env: Env): () => ResolvedDeps {
  const logger = deps.logger ?? new Logger({ serviceName });
  const metrics = 'metrics' in deps ? deps.metrics : defaultMetrics(serviceName, env);
  return () => ({ s3: deps.s3 ?? s3Client(), bucket: deps.bucket ?? requiredEnv(env, ENV.dataBucket), logger, metrics });
}
