/**
 * An error as aws-local-stepfunctions matches Retry and Catch against it: by `name` (the
 * Step Functions error name) and `message` (the Cause). `retryable: false, catchable: false`
 * for the errors no Retry or States.ALL catcher may handle (States.DataLimitExceeded,
 * States.Runtime).
 */
export class StatesError extends Error {
  readonly isRetryable: boolean;
  readonly isCatchable: boolean;
  constructor(name: string, cause: string, options: { retryable?: boolean; catchable?: boolean } = {}) {
    super(cause);
    this.name = name;
    this.isRetryable = options.retryable ?? true;
    this.isCatchable = options.catchable ?? true;
  }
}

/** States.DataLimitExceeded: terminal, as in AWS (States.ALL does not match it). */
export const dataLimitExceeded = (message: string) =>
  new StatesError('States.DataLimitExceeded', message, { retryable: false, catchable: false });
