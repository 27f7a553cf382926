import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ServiceError, type Operation } from './control-plane.ts';
import { credentialEnvironment, type Credentials } from './credentials.ts';
import type { IamAuthorizer } from './iam.ts';
import type { CloudModel, ContainerSpec, TaskDefinitionSpec } from './model.ts';
import type { ProgressReply } from './progress-relay.ts';
import { type SandboxProcess, startSandboxProcess } from './sandbox-process.ts';

const PROGRESS_RELAY_MODULE = 'cli/local/cloud/progress-relay.ts';

/**
 * ECS on Fargate, locally: RunTask starts the task definition's container as a process with the
 * definition's environment plus the overrides, the task role's credentials and the task's memory
 * and ephemeral storage as limits (./sandbox-process.ts); StopTask sends SIGTERM and, after the
 * container's stopTimeout, SIGKILL, as ECS does. RunTask refuses what ECS refuses: overrides over
 * 8,192 characters, an unknown container name, another cluster or task definition. Tasks can be
 * made to fail to place (as a full region does), which Step Functions reports as
 * AmazonECS.Unknown.
 */
export const RUN_TASK_OVERRIDES_LIMIT = 8192;

export interface EcsTask {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  lastStatus: 'RUNNING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  startedAt: number;
  stoppedAt?: number;
  stoppedReason?: string;
  process: SandboxProcess;
  container: ContainerSpec;
}

export interface EcsServiceOptions {
  model: CloudModel;
  credentials: Credentials;
  authorizer: IamAuthorizer;
  endpoints: Record<string, string>;
  localEnvironment?: Record<string, string>;
  scratchRoot: string;
  timeScale: number;
  onLog: (task: EcsTask, line: string, stream: 'stdout' | 'stderr') => void;
  /** Training progress from the container (./progress-relay.ts). */
  onProgress?: (task: EcsTask, message: unknown) => void;
}

export interface RunTaskParameters {
  Cluster?: string;
  TaskDefinition?: string;
  LaunchType?: string;
  Overrides?: { ContainerOverrides?: { Name?: string; Environment?: { Name: string; Value: string }[]; Command?: string[] }[] };
  [key: string]: unknown;
}

export class EcsService {
  readonly tasks: EcsTask[] = [];
  /** Makes the next RunTask calls fail to place their task (RESOURCE:FARGATE), n times. */
  placementFailures = 0;

  constructor(readonly options: EcsServiceOptions) {}

  /** RunTask as the state machine's integration calls it; returns RunTask's response. */
  async runTask(parameters: RunTaskParameters): Promise<{ Tasks: { TaskArn: string; ClusterArn: string; LastStatus: string }[]; Failures: unknown[] }> {
    const cluster = this.cluster(parameters.Cluster);
    if (!cluster) throw new ServiceError('ClusterNotFoundException', `Cluster not found: ${parameters.Cluster}`);
    const definition = this.taskDefinition(parameters.TaskDefinition);
    if (!definition) throw new ServiceError('InvalidParameterException', `TaskDefinition not found: ${parameters.TaskDefinition}`);
    const overridesLength = JSON.stringify(parameters.Overrides ?? {}).length;
    if (overridesLength > RUN_TASK_OVERRIDES_LIMIT) {
      throw new ServiceError('InvalidParameterException', `Container Overrides length must be at most ${RUN_TASK_OVERRIDES_LIMIT} (it is ${overridesLength})`);
    }
    for (const override of parameters.Overrides?.ContainerOverrides ?? []) {
      if (!definition.containers.some((container) => container.name === override.Name)) {
        throw new ServiceError('InvalidParameterException', `Override for container named ${override.Name} is not a container in the TaskDefinition.`);
      }
      if (override.Command) throw new ServiceError('InvalidParameterException', 'the local cloud runs the task definition\'s command only');
    }
    if (this.placementFailures > 0) {
      this.placementFailures--;
      return { Tasks: [], Failures: [{ arn: definition.arn, reason: 'RESOURCE:FARGATE', detail: 'Fargate capacity is unavailable at this time' }] };
    }
    const container = definition.containers[0];
    const task = await this.#start(definition, container, cluster.arn, cluster.name, parameters);
    return { Tasks: [{ TaskArn: task.taskArn, ClusterArn: cluster.arn, LastStatus: 'PROVISIONING' }], Failures: [] };
  }

  /** A cluster by name or ARN. */
  cluster(reference: unknown): CloudModel['clusters'][number] | undefined {
    return this.options.model.clusters.find((candidate) => candidate.arn === reference || candidate.name === reference);
  }

  /** A task definition by ARN, or by family or ARN without revision (both mean the latest revision). */
  taskDefinition(reference: unknown): TaskDefinitionSpec | undefined {
    return this.options.model.taskDefinitions.find((candidate) => [candidate.arn, candidate.family, candidate.arn.replace(/:\d+$/, '')].includes(String(reference)));
  }

  async #start(definition: TaskDefinitionSpec, container: ContainerSpec, clusterArn: string, clusterName: string, parameters: RunTaskParameters): Promise<EcsTask> {
    const { model } = this.options;
    const id = randomBytes(16).toString('hex');
    const taskArn = `arn:${model.bindings.partition}:ecs:${model.bindings.region}:${model.bindings.account}:task/${clusterName}/${id}`;
    if (!container.code) throw new ServiceError('InvalidParameterException', `the local cloud cannot tell what container ${container.name} runs (node <module> expected)`);
    if (!definition.taskRole) throw new ServiceError('InvalidParameterException', `${definition.family} has no task role: its code could not call AWS`);
    const role = model.roles.get(definition.taskRole)!;
    const overrides = parameters.Overrides?.ContainerOverrides?.find((override) => override.Name === container.name);
    const env: Record<string, string> = {
      ...container.environment,
      ...Object.fromEntries((overrides?.Environment ?? []).map(({ Name, Value }) => [Name, String(Value)])),
      AWS_REGION: container.environment.AWS_REGION ?? model.bindings.region,
      AWS_DEFAULT_REGION: model.bindings.region,
      ...credentialEnvironment(this.options.credentials.issue({ role, session: id })),
      ECS_CONTAINER_METADATA_URI_V4: `http://169.254.170.2/v4/${id}`,
      ...this.options.endpoints,
      ...this.options.localEnvironment,
    };
    let task!: EcsTask;
    const process = await startSandboxProcess({
      module: container.code.module,
      env,
      tmpDir: join(this.options.scratchRoot, `task-${id.slice(0, 8)}`, 'tmp'),
      limits: { memoryBytes: definition.memoryMiB * 2 ** 20, scratchBytes: definition.ephemeralGiB * 2 ** 30 },
      onLine: (line, stream) => this.options.onLog(task, line, stream),
      // Not part of the container contract: only the progress relay talks on it (AWS has no such channel).
      ipc: true,
      preload: [PROGRESS_RELAY_MODULE],
      onBreach: (breach) => {
        if (task.lastStatus === 'STOPPED' || task.stoppedReason) return;
        task.stoppedReason =
          breach.kind === 'memory'
            ? `OutOfMemoryError: Container killed due to memory usage (${Math.round(breach.bytes / 2 ** 20)} MiB of ${definition.memoryMiB} MiB)`
            : `the container wrote ${Math.round(breach.bytes / 2 ** 20)} MiB of scratch space, over the task's ${definition.ephemeralGiB} GiB`;
        task.process.kill('SIGKILL');
      },
    });
    task = {
      taskArn,
      clusterArn,
      taskDefinitionArn: definition.arn,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      startedAt: Date.now(),
      process,
      container,
    };
    this.tasks.push(task);
    process.child.on('message', (reply: ProgressReply) => {
      if (reply?.type === 'progress') this.options.onProgress?.(task, reply.message);
    });
    void process.exited.then(async ({ code, signal }) => {
      task.lastStatus = 'STOPPED';
      task.desiredStatus = 'STOPPED';
      task.stoppedAt = Date.now();
      task.stoppedReason ??= `Essential container in task exited (${signal ?? `exit code ${code}`})`;
      await process.cleanup();
    });
    return task;
  }

  /**
   * StopTask: SIGTERM now, SIGKILL after the container's stopTimeout (30 s by default). Scaled,
   * but never below 5 s (or the stopTimeout itself): reacting to SIGTERM takes a process real time.
   */
  stop(task: EcsTask, reason: string): void {
    if (task.lastStatus === 'STOPPED' || task.desiredStatus === 'STOPPED') return;
    task.desiredStatus = 'STOPPED';
    task.stoppedReason = reason;
    task.process.kill('SIGTERM');
    const stopTimeoutMs = task.container.stopTimeoutSeconds * 1000;
    const graceMs = Math.max(stopTimeoutMs * this.options.timeScale, Math.min(stopTimeoutMs, 5000));
    const timer = setTimeout(() => task.process.kill('SIGKILL'), graceMs);
    timer.unref();
    void task.process.exited.then(() => clearTimeout(timer));
  }

  running(): EcsTask[] {
    return this.tasks.filter((task) => task.lastStatus === 'RUNNING');
  }

  /** The control-plane operations (ECS JSON 1.1 API), each authorised for its caller. */
  operations(): Record<string, Operation> {
    const target = (name: string) => `AmazonEC2ContainerServiceV20141113.${name}`;
    const find = (cluster: unknown, taskId: unknown) => {
      const clusterArn = this.#clusterArn(cluster);
      const task = this.tasks.find((candidate) => candidate.clusterArn === clusterArn && (candidate.taskArn === taskId || candidate.taskArn.endsWith(`/${String(taskId)}`)));
      return { clusterArn, task };
    };
    return {
      [target('StopTask')]: async (caller, input) => {
        const { clusterArn, task } = find(input.cluster, input.task);
        const taskArn = task?.taskArn ?? `${clusterArn.replace(':cluster/', ':task/')}/${String(input.task)}`;
        await this.options.authorizer.authorize(caller, { action: 'ecs:StopTask', resource: taskArn, context: { 'ecs:cluster': clusterArn } });
        if (!task) throw new ServiceError('InvalidParameterException', 'The referenced task was not found.');
        this.stop(task, String(input.reason ?? 'Task stopped by user'));
        return { task: describe(task) };
      },
      [target('DescribeTasks')]: async (caller, input) => {
        const tasks = [];
        const failures = [];
        for (const taskId of (input.tasks as string[] | undefined) ?? []) {
          const { clusterArn, task } = find(input.cluster, taskId);
          const taskArn = task?.taskArn ?? String(taskId);
          await this.options.authorizer.authorize(caller, { action: 'ecs:DescribeTasks', resource: taskArn, context: { 'ecs:cluster': clusterArn } });
          if (task) tasks.push(describe(task));
          else failures.push({ arn: taskArn, reason: 'MISSING' });
        }
        return { tasks, failures };
      },
    };
  }

  #clusterArn(reference: unknown): string {
    const known = this.cluster(reference ?? 'default');
    if (!known) throw new ServiceError('ClusterNotFoundException', 'Cluster not found.');
    return known.arn;
  }

  /** SIGTERM to every running task, SIGKILL to what is left after `graceMs`. */
  async shutdown(graceMs = 2000): Promise<void> {
    const running = this.running();
    for (const task of running) task.process.kill('SIGTERM');
    const timer = setTimeout(() => running.forEach((task) => task.process.kill('SIGKILL')), graceMs);
    await Promise.all(running.map((task) => task.process.exited));
    clearTimeout(timer);
  }
}

function describe(task: EcsTask) {
  return {
    taskArn: task.taskArn,
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    startedAt: task.startedAt / 1000,
    ...(task.stoppedAt ? { stoppedAt: task.stoppedAt / 1000 } : {}),
    ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
  };
}
