import { Logger } from '@aws-lambda-powertools/logger';
import { type ExecutionPlan, planExecution } from '../../lib/workflow/execution-input.ts';

/**
 * First state of the workflow: checks the execution input (ConfigError naming the field on any
 * problem, so the execution fails before any work) and outputs the plan the other states read.
 * Touches nothing: no S3, no environment.
 */
export function createValidateHandler(deps: { logger?: Logger } = {}) {
  const logger = deps.logger ?? new Logger({ serviceName: 'fmnist-validate' });
  return async (event: unknown): Promise<ExecutionPlan> => {
    const plan = planExecution(event);
    logger.info('execution input accepted', { plan });
    return plan;
  };
}

export const handler = createValidateHandler();
