/**
 * Placeholder (work in progress on another branch): stops the Fargate training tasks of an
 * execution that failed, timed out or was aborted.
 */
export async function handler(): Promise<void> {
  throw new Error('not implemented yet');
}
