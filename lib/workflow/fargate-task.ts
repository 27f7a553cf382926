/**
 * The Fargate training container's contract: the environment the stack (task definition) and the
 * TrainOnFargate state (container override) give it, read by functions/train/fargate.ts and
 * emulated by the local runtime (cli/local). CDK-free, so infra, the entry and the local runtime
 * import the same names.
 *
 * The TrainEvent itself does not travel in the override (RunTask overrides are limited to 8,192
 * characters and are visible through DescribeTasks): the state machine writes it to
 * `trainEventKey(runId)` in the data bucket first, and the override carries only that key.
 */
export const FARGATE_ENV = {
  /** Override: S3 key, in $DATA_BUCKET, of the TrainEvent JSON. */
  trainEventKey: 'FMNIST_TRAIN_EVENT_KEY',
  /** Override: `$$.Task.Token`. */
  taskToken: 'SFN_TASK_TOKEN',
  /** Override: `$$.State.EnteredTime` (ISO 8601), when the state started waiting for this task. */
  stateEnteredTime: 'FMNIST_STATE_ENTERED_TIME',
  /** Override: the state's TimeoutSeconds; the container stops itself before it passes. */
  stateTimeoutSeconds: 'FMNIST_STATE_TIMEOUT_SECONDS',
  /** Task definition: the task's CPU units (1,024 per vCPU), for the training record's cost estimate. */
  taskCpuUnits: 'FMNIST_TASK_CPU_UNITS',
  /** Task definition: the task's memory, MiB, for the training record's cost estimate. */
  taskMemoryMiB: 'FMNIST_TASK_MEMORY_MIB',
  /** Task definition: seconds between SendTaskHeartbeat calls. */
  heartbeatSeconds: 'FMNIST_HEARTBEAT_SECONDS',
  /**
   * Local runtime only: multiplies every timer of the entry (heartbeat interval, deadline), so a
   * test can run a 600-second heartbeat contract in a fraction of a second. Default 1.
   */
  timeScale: 'FMNIST_TIME_SCALE',
} as const;
