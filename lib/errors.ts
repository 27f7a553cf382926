/**
 * The errors a user can act on: a bad input, a refused request, a run that failed for a reason
 * its message states. Every one extends UserError, so the CLI (bin/fmnist.ts) prints any of them
 * as its message on one line, exit 1, no stack, and everything else stays a bug with its stack.
 *
 * `name` is a contract: Lambda reports it as the errorType, Step Functions as the state's Error
 * (and the execution's), and the CLI and tests read it back from the history. Keep each value.
 *
 * Errors that are not the user's to fix stay next to the code that throws them, with a comment
 * saying so: CheckpointCorruptError (lib/model/checkpoint/format.ts, always caught: the loader
 * skips a damaged checkpoint), UnsupportedLayerError (lib/model/graph/train-graph.ts, a caller
 * that skipped graphSupports), TrainingAbortedError (lib/model/cooperative.ts, a stop request),
 * S3OperationError (lib/aws/s3-errors.ts, named after S3's error code), ShapeError
 * (lib/model/layers/layer.ts, turned into a field's validation issue by ModelSpec before it
 * leaves), the Fargate task's stop reasons (functions/train/task-watch.ts) and the local runtime's emulated AWS errors
 * (cli/local).
 */

/** A failure whose message is the whole story for the user: printed on one line, without a stack. */
export class UserError extends Error {
  override readonly name: string = 'UserError';
}

/**
 * A rejected input. The message always names where the problem is, so a user can open the
 * file and go to it: `file:line:column: reason` (line 1-based, header = line 1).
 */
export class DataValidationError extends UserError {
  override readonly name: string = 'DataValidationError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
    readonly column?: number | string,
  ) {
    super(
      [file, line !== undefined ? `line ${line}` : undefined, column !== undefined ? `column ${column}` : undefined]
        .filter((part) => part !== undefined)
        .join(', ') + `: ${reason}`,
    );
  }
}

/**
 * Data that validates but fails its data checks under the policy "fail" (lib/data/data-check-policy.ts):
 * the message names each check, its figures and its threshold.
 */
export class DataCheckError extends UserError {
  override readonly name: string = 'DataCheckError';
}

/** A rejected configuration, CLI flag or event field. */
export class ConfigError extends UserError {
  override readonly name: string = 'ConfigError';
}

/**
 * A checkpoint of another run, other data or another training configuration
 * (lib/model/checkpoint/checkpoint.ts compares them). Its name stays ConfigError: that is what
 * the train handlers report and the CLI shows.
 */
export class CheckpointMismatchError extends ConfigError {
  constructor(
    message: string,
    /** The differing fields, e.g. ['seed', 'model.layers']. */
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/** The local workflow ended in FAILED, TIMED_OUT or ABORTED; the message carries the cause. */
export class WorkflowFailedError extends UserError {
  override readonly name: string = 'WorkflowFailedError';
}
