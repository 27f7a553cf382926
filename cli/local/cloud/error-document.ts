/**
 * The error document the Node.js Lambda runtime reports for a thrown error, which Step Functions
 * puts in a failed Lambda state's Cause: {"errorType","errorMessage","trace"}.
 */
export interface ErrorDocument {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

export function errorDocument(error: unknown): ErrorDocument {
  const err = error instanceof Error ? error : undefined;
  return {
    errorType: err?.name || (typeof error === 'string' ? 'string' : 'Error'),
    errorMessage: err ? err.message : String(error),
    trace: err?.stack ? err.stack.split('\n') : [],
  };
}
