/**
 * What the CLI reads from an execution's output, the workflow's state document
 * (infra/workflow-definition.ts): { plan, dataset, trainEvent, training, evaluation, promotion }.
 * Read defensively: an execution of an older or newer workflow may lack parts.
 */
export interface RunOutcome {
  runId?: string;
  datasetId?: string;
  accuracy?: number;
  macroF1?: number;
  loss?: number;
  reportPrefix?: string;
  modelPrefix?: string;
  backend?: string;
  trainSeconds?: number;
  epochs?: number;
  promoted?: boolean;
  promotionReason?: string;
}

const object = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const string = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
/** The Promote state's resultSelector uses stringAt for a boolean: accept both spellings. */
const boolean = (value: unknown) => (value === true || value === 'true' ? true : value === false || value === 'false' ? false : undefined);

export function runOutcome(output: unknown): RunOutcome {
  const document = object(typeof output === 'string' ? safeJson(output) : output);
  const plan = object(document.plan);
  const dataset = object(document.dataset);
  const training = object(document.training);
  const evaluation = object(document.evaluation);
  const promotion = object(document.promotion);
  return {
    runId: string(evaluation.runId) ?? string(training.runId) ?? string(plan.runId),
    datasetId: string(dataset.datasetId),
    accuracy: number(evaluation.accuracy),
    macroF1: number(evaluation.macroF1),
    loss: number(evaluation.loss),
    reportPrefix: string(evaluation.reportPrefix),
    modelPrefix: string(training.modelPrefix),
    backend: string(training.backend),
    trainSeconds: number(training.seconds),
    epochs: number(training.epochs),
    promoted: boolean(promotion.promoted),
    promotionReason: string(promotion.reason),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
