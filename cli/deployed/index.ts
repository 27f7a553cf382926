/** `fmnist start` / `fmnist status`: the CLI side of the deployed workflow. */
export { registerAwsCommands, registerResumeCommand, type LocalResume } from './register.ts';
export { resumeCommand as resumeOnAws, lastExecutionOf, type ResumeFlags, type ResumeResult, type PreviousExecution } from './resume.ts';
export { startCommand, executionConsoleUrl, type StartFlags, type StartResult } from './start.ts';
export { statusCommand, formatStatus, type StatusFlags, type StatusResult, type ExecutionSummary } from './status.ts';
export { followExecution, type FollowOptions, type FollowResult } from './follow.ts';
export { resolveTargets, DEFAULT_STACK_NAME, STACK_ENV, type AwsTargets } from './stack.ts';
export type { AwsCommandDeps, AwsConnectionFlags } from './clients.ts';
