import { z } from 'zod';
import { TestSetId } from '../../lib/workflow/ids.ts';
import { RunId } from '../../lib/workflow/run-id.ts';

/**
 * What the CLI reads from an execution's input and output (the workflow's state document,
 * infra/workflow-definition.ts: { plan, dataset, trainEvent, training, evaluation, promotion }),
 * as zod schemas. Read leniently: an execution of an older or newer workflow may lack parts or
 * hold them in another shape, so a field that does not fit is left out, never an error.
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
  /** Step caching: the completed run this execution reused instead of training (its model and report). */
  reusedRun?: string;
}

/** A field kept when it fits `schema`, left out otherwise. */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
/** A part of the document: its fields leniently, or nothing when it is not an object. */
const part = <Shape extends z.ZodRawShape>(shape: Shape) => z.object(shape).optional().catch(undefined);

const text = lenient(z.string().min(1));
const number = lenient(z.number());
/** The Promote state's resultSelector uses stringAt for a boolean: accept both spellings. */
const flag = lenient(z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]));

/** Execution output or input given as JSON text (as Step Functions returns it) or already parsed. */
function jsonDocument<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' ? parseJsonOrUndefined(value) : value), schema);
}

const StateDocument = jsonDocument(
  z
    .object({
      plan: part({ runId: text }),
      dataset: part({ datasetId: text, testSetId: lenient(TestSetId) }),
      training: part({ runId: text, modelPrefix: text, backend: text, seconds: number, epochs: number }),
      evaluation: part({ runId: text, accuracy: number, macroF1: number, loss: number, reportPrefix: text }),
      promotion: part({ promoted: flag, reason: text }),
      reusedRun: text,
    })
    .catch({}),
);

/** The run id an execution's input names, if it names one; `undefined` input or non-JSON gives {}. */
const ExecutionInputRunId = jsonDocument(z.object({ runId: z.unknown() }).catch({ runId: undefined }));

export function runOutcome(output: unknown): RunOutcome {
  const { plan, dataset, training, evaluation, promotion, reusedRun } = StateDocument.parse(output);
  return {
    runId: evaluation?.runId ?? training?.runId ?? reusedRun ?? plan?.runId,
    datasetId: dataset?.datasetId,
    accuracy: evaluation?.accuracy,
    macroF1: evaluation?.macroF1,
    loss: evaluation?.loss,
    reportPrefix: evaluation?.reportPrefix,
    modelPrefix: training?.modelPrefix,
    backend: training?.backend,
    trainSeconds: training?.seconds,
    epochs: training?.epochs,
    promoted: promotion?.promoted,
    promotionReason: promotion?.reason,
    ...(reusedRun ? { reusedRun } : {}),
  };
}

/** The Ingest state's dataset.testSetId in an execution's output, if there and well-formed. */
export function testSetIdOfOutput(output: string | undefined): string | undefined {
  return StateDocument.parse(output).dataset?.testSetId;
}

/**
 * The `runId` field of an execution's input exactly as given: undefined when absent (or the
 * input is not a JSON object), any other value as it is, so a caller can tell "no run id" from
 * "another run's". `runIdOfInput` keeps only a well-formed run id.
 */
export function inputRunIdField(input: string | undefined): unknown {
  return ExecutionInputRunId.parse(input).runId;
}

export function runIdOfInput(input: string | undefined): string | undefined {
  const parsed = RunId.safeParse(inputRunIdField(input));
  return parsed.success ? parsed.data : undefined;
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
