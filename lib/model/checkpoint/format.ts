import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { z } from 'zod';
import { parseTrainConfig, type TrainConfig } from '../config.ts';
import type { EarlyStoppingState } from '../early-stopping.ts';
import type { EpochLog } from '../history.ts';
import type { CheckpointWeight, TrainingCheckpoint } from './checkpoint.ts';

/**
 * A checkpoint as files: the big arrays as raw little-endian binaries, everything else as one
 * JSON state, and a manifest with each file's byte size and sha256, written last: a checkpoint
 * without its manifest is incomplete, and one whose files do not match it is corrupt.
 *
 * - state.json: identity, config, position, history, shapes, optimizer scalars, counters;
 * - weights.bin: float32, every weight in state order;
 * - adam.bin: float32, Adam's first moments in order, then the second moments;
 * - order.bin: uint32, the example order;
 * - best-weights.bin (only with early stopping's restoreBestWeights, once an epoch ended): float32,
 *   the best epoch's weights in the order and shapes of weights.bin.
 */

export const MANIFEST_FILE = 'manifest.json';
export const CHECKPOINT_FORMAT = 'fmnist-training-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
const STATE_FILE = 'state.json';
const WEIGHTS_FILE = 'weights.bin';
const ADAM_FILE = 'adam.bin';
const ORDER_FILE = 'order.bin';
const BEST_WEIGHTS_FILE = 'best-weights.bin';
/** The files besides the manifest, in writing order. */
export const CHECKPOINT_DATA_FILES = [WEIGHTS_FILE, ADAM_FILE, ORDER_FILE, STATE_FILE] as const;
/** Data files a checkpoint has only in some runs (early stopping restoring the best weights). */
export const OPTIONAL_CHECKPOINT_DATA_FILES = [BEST_WEIGHTS_FILE] as const;

/**
 * A checkpoint that cannot be used: incomplete, damaged or not ours. `reason` says which file and why.
 * Not a UserError: loadLatestCheckpoint catches it and skips to an older checkpoint, listing it.
 */
export class CheckpointCorruptError extends Error {
  override readonly name = 'CheckpointCorruptError';
}

if (endianness() !== 'LE') throw new Error('checkpoint files are little-endian; this machine is not');

export interface EncodedCheckpoint {
  /** Data files by name (CHECKPOINT_DATA_FILES). */
  files: Map<string, Uint8Array>;
  /** manifest.json's bytes: write it after every data file. */
  manifest: Uint8Array;
}

export function encodeCheckpoint(checkpoint: TrainingCheckpoint): EncodedCheckpoint {
  const { optimizer } = checkpoint;
  const state: StateJson = {
    identity: checkpoint.identity,
    config: checkpoint.config,
    position: checkpoint.position,
    history: checkpoint.history.map(encodeLog),
    examples: checkpoint.examples,
    trainingStep: checkpoint.trainingStep,
    weights: checkpoint.weights.map(({ name, shape, trainable }) => ({ name, shape, trainable })),
    optimizer: { iterations: optimizer.iterations, beta1Power: optimizer.beta1Power, beta2Power: optimizer.beta2Power },
    shuffleState: checkpoint.shuffleState,
    dropoutCalls: checkpoint.dropoutCalls,
    epochTotals: { ...checkpoint.epochTotals, lossSum: encodeFloat(checkpoint.epochTotals.lossSum), correct: encodeFloat(checkpoint.epochTotals.correct) },
    timings: checkpoint.timings,
    ...(checkpoint.earlyStopping ? { earlyStopping: encodeEarlyStopping(checkpoint.earlyStopping) } : {}),
  };
  const bestWeights = checkpoint.earlyStopping?.bestWeights;
  const files = new Map<string, Uint8Array>([
    [WEIGHTS_FILE, bytesOf(concatFloats(checkpoint.weights.map((w) => w.values)))],
    [ADAM_FILE, bytesOf(concatFloats([...optimizer.moments1, ...optimizer.moments2]))],
    [ORDER_FILE, bytesOf(checkpoint.order)],
    ...(bestWeights ? [[BEST_WEIGHTS_FILE, bytesOf(concatFloats(bestWeights.map((w) => w.values)))] as const] : []),
    [STATE_FILE, new TextEncoder().encode(JSON.stringify(state))],
  ]);
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    files: [...files].map(([name, bytes]) => ({ name, bytes: bytes.byteLength, sha256: sha256(bytes) })),
  };
  return { files, manifest: new TextEncoder().encode(JSON.stringify(manifest)) };
}

/**
 * Reads a checkpoint back through `read` (undefined for a missing file), verifying the manifest,
 * every file's size and sha256, and that the state is well formed and consistent with the arrays.
 * @throws CheckpointCorruptError saying what is wrong
 */
export async function decodeCheckpoint(read: (file: string) => Promise<Uint8Array | undefined>): Promise<TrainingCheckpoint> {
  const manifestBytes = await read(MANIFEST_FILE);
  if (manifestBytes === undefined) throw new CheckpointCorruptError(`no ${MANIFEST_FILE} (the checkpoint was never completed)`);
  const manifest = parseJson(manifestBytes, MANIFEST_FILE, manifestSchema);
  if (manifest.format !== CHECKPOINT_FORMAT || manifest.version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointCorruptError(`${MANIFEST_FILE}: format ${manifest.format} version ${manifest.version}; this code reads ${CHECKPOINT_FORMAT} version ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const listed = manifest.files.map((file) => file.name).sort();
  const required = [...CHECKPOINT_DATA_FILES].sort();
  const optional: readonly string[] = OPTIONAL_CHECKPOINT_DATA_FILES;
  if (JSON.stringify(listed.filter((name) => !optional.includes(name))) !== JSON.stringify(required) || new Set(listed).size !== listed.length) {
    throw new CheckpointCorruptError(`${MANIFEST_FILE} lists [${listed.join(', ')}], expected [${required.join(', ')}] and optionally ${optional.join(', ')}`);
  }
  const files = new Map<string, Uint8Array>();
  for (const entry of manifest.files) {
    const bytes = await read(entry.name);
    if (bytes === undefined) throw new CheckpointCorruptError(`${entry.name} is missing`);
    if (bytes.byteLength !== entry.bytes) throw new CheckpointCorruptError(`${entry.name} has ${bytes.byteLength} bytes, the manifest says ${entry.bytes}`);
    const digest = sha256(bytes);
    if (digest !== entry.sha256) throw new CheckpointCorruptError(`${entry.name}: sha256 ${digest} does not match the manifest's ${entry.sha256}`);
    files.set(entry.name, bytes);
  }
  return checkpointFromFiles(files);
}

function checkpointFromFiles(files: Map<string, Uint8Array>): TrainingCheckpoint {
  const state = parseJson(files.get(STATE_FILE)!, STATE_FILE, stateSchema);
  const corrupt = (reason: string) => new CheckpointCorruptError(`${STATE_FILE}: ${reason}`);
  let config;
  try {
    config = parseTrainConfig(state.config, `${STATE_FILE} config`);
  } catch (error) {
    throw new CheckpointCorruptError((error as Error).message);
  }
  const { position, examples } = state;
  const trainExamples = Math.floor(examples * (1 - config.validationSplit));
  const batches = Math.ceil(trainExamples / config.batchSize);
  if (position.epochs !== config.epochs || position.batches !== batches) {
    throw corrupt(`position says ${position.epochs} epochs of ${position.batches} batches; the config and ${examples} examples make ${config.epochs} of ${batches}`);
  }
  if (position.epoch > position.epochs + 1 || position.batch > batches || (position.epoch === position.epochs + 1 && position.batch !== 0)) {
    throw corrupt(`position epoch ${position.epoch} batch ${position.batch} is outside ${position.epochs} epochs of ${batches} batches`);
  }
  if (state.history.length !== position.epoch - 1 || state.history.some((log, i) => log.epoch !== i + 1)) {
    throw corrupt(`history holds epochs [${state.history.map((log) => log.epoch).join(', ')}], expected 1 to ${position.epoch - 1}`);
  }
  const dropouts = config.model.layers.filter((layer) => layer.type === 'dropout').length;
  if (state.dropoutCalls.length !== dropouts) throw corrupt(`${state.dropoutCalls.length} dropout call counts for ${dropouts} dropout layers`);
  if (state.epochTotals.examples > trainExamples) throw corrupt(`epoch totals count ${state.epochTotals.examples} examples of ${trainExamples}`);
  checkEarlyStopping(state, config, files.has(BEST_WEIGHTS_FILE), corrupt);

  const weightValues = floatsOf(files.get(WEIGHTS_FILE)!, WEIGHTS_FILE, state.weights.map((w) => w.shape));
  const weights: CheckpointWeight[] = state.weights.map((w, i) => ({ ...w, values: weightValues[i] }));
  const trainableShapes = state.weights.filter((w) => w.trainable).map((w) => w.shape);
  const moments = floatsOf(files.get(ADAM_FILE)!, ADAM_FILE, [...trainableShapes, ...trainableShapes]);
  const bestFile = files.get(BEST_WEIGHTS_FILE);
  const bestValues = bestFile === undefined ? undefined : floatsOf(bestFile, BEST_WEIGHTS_FILE, state.weights.map((w) => w.shape));
  const orderBytes = files.get(ORDER_FILE)!;
  if (orderBytes.byteLength !== trainExamples * 4) throw new CheckpointCorruptError(`${ORDER_FILE} has ${orderBytes.byteLength} bytes, expected ${trainExamples * 4} for ${trainExamples} training examples`);
  const order = new Uint32Array(orderBytes.slice().buffer);
  if (!isPermutation(order)) throw new CheckpointCorruptError(`${ORDER_FILE} is not an order of the ${trainExamples} training examples`);

  return {
    identity: state.identity,
    config,
    position,
    history: state.history,
    examples,
    trainingStep: state.trainingStep,
    weights,
    optimizer: { ...state.optimizer, moments1: moments.slice(0, trainableShapes.length), moments2: moments.slice(trainableShapes.length) },
    order,
    shuffleState: state.shuffleState,
    dropoutCalls: state.dropoutCalls,
    epochTotals: state.epochTotals,
    timings: state.timings,
    ...(state.earlyStopping
      ? {
          earlyStopping: {
            best: state.earlyStopping.best,
            bestEpoch: state.earlyStopping.bestEpoch,
            wait: state.earlyStopping.wait,
            stoppedEpoch: state.earlyStopping.stoppedEpoch,
            ...(bestValues ? { bestWeights: state.weights.map((w, i) => ({ ...w, values: bestValues[i] })) } : {}),
          },
        }
      : {}),
  };
}

/** Early stopping's state agrees with the config, the history and the files. */
function checkEarlyStopping(state: z.output<typeof stateSchema>, config: TrainConfig, hasBestFile: boolean, corrupt: (reason: string) => Error): void {
  const stopping = state.earlyStopping;
  if ((stopping === undefined) !== (config.earlyStopping === undefined)) {
    throw corrupt(config.earlyStopping ? 'no early stopping state, but the config stops early' : 'an early stopping state, but the config does not stop early');
  }
  if (stopping === undefined) {
    if (hasBestFile) throw corrupt(`${BEST_WEIGHTS_FILE} without early stopping`);
    return;
  }
  const completed = state.history.length;
  if (stopping.bestEpoch > completed || stopping.stoppedEpoch > completed) {
    throw corrupt(`early stopping names epoch ${Math.max(stopping.bestEpoch, stopping.stoppedEpoch)} of ${completed} completed`);
  }
  if (stopping.stoppedEpoch > 0 && (stopping.stoppedEpoch !== completed || state.position.batch !== 0)) {
    throw corrupt(`training stopped early after epoch ${stopping.stoppedEpoch}, yet the position is epoch ${state.position.epoch} batch ${state.position.batch}`);
  }
  const wantsBest = config.earlyStopping!.restoreBestWeights && completed > 0;
  if (wantsBest !== hasBestFile) throw corrupt(wantsBest ? `no ${BEST_WEIGHTS_FILE}, which restoreBestWeights needs` : `${BEST_WEIGHTS_FILE} without restoreBestWeights or a completed epoch`);
}

function encodeEarlyStopping(stopping: EarlyStoppingState<unknown>): z.input<typeof earlyStoppingSchema> {
  return { best: encodeFloat(stopping.best), bestEpoch: stopping.bestEpoch, wait: stopping.wait, stoppedEpoch: stopping.stoppedEpoch };
}

// ---- schemas ------------------------------------------------------------------------------

const count = z.number().int().nonnegative();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const manifestSchema = z.object({
  format: z.string(),
  version: z.number(),
  files: z.array(z.object({ name: z.string(), bytes: count, sha256: sha256Hex })),
});
type Manifest = z.infer<typeof manifestSchema>;

/** A float that JSON cannot hold as a number (NaN, infinities, negative zero) is written as a string. */
type EncodedFloat = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';
const floatSchema = z
  .union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity', '-0'])])
  .transform((value) => (typeof value === 'number' ? value : value === '-0' ? -0 : Number(value)));

function encodeFloat(value: number): EncodedFloat {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (Object.is(value, -0)) return '-0';
  return value;
}

function encodeLog(log: EpochLog): z.input<typeof logSchema> {
  const encoded: z.input<typeof logSchema> = { epoch: log.epoch, loss: encodeFloat(log.loss), accuracy: encodeFloat(log.accuracy), seconds: encodeFloat(log.seconds) };
  if (log.val_loss !== undefined) encoded.val_loss = encodeFloat(log.val_loss);
  if (log.val_accuracy !== undefined) encoded.val_accuracy = encodeFloat(log.val_accuracy);
  if (log.stopped !== undefined) encoded.stopped = log.stopped;
  return encoded;
}

const logSchema = z.object({
  epoch: z.number().int().positive(),
  loss: floatSchema,
  accuracy: floatSchema,
  val_loss: floatSchema.optional(),
  val_accuracy: floatSchema.optional(),
  seconds: floatSchema,
  stopped: z.string().optional(),
});

const earlyStoppingSchema = z.object({ best: floatSchema, bestEpoch: count, wait: count, stoppedEpoch: count });

const stateSchema = z.object({
  identity: z.object({ runId: z.string().min(1), datasetId: z.string().min(1) }),
  config: z.unknown(),
  position: z.object({ epoch: z.number().int().positive(), batch: count, epochs: z.number().int().positive(), batches: z.number().int().positive() }),
  history: z.array(logSchema),
  examples: z.number().int().positive(),
  trainingStep: z.enum(['graph', 'eager']),
  weights: z.array(z.object({ name: z.string().min(1), shape: z.array(count), trainable: z.boolean() })),
  optimizer: z.object({ iterations: count, beta1Power: z.number(), beta2Power: z.number() }),
  shuffleState: z.number().int().min(0).max(0xffffffff),
  dropoutCalls: z.array(count),
  epochTotals: z.object({ lossSum: floatSchema, correct: floatSchema, examples: count }),
  timings: z.object({ msPerBatch: z.number().nonnegative(), msLastValidation: z.number().nonnegative() }),
  earlyStopping: earlyStoppingSchema.optional(),
});
type StateJson = z.input<typeof stateSchema>;

function parseJson<T extends z.ZodType>(bytes: Uint8Array, file: string, schema: T): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new CheckpointCorruptError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CheckpointCorruptError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

// ---- binary arrays ------------------------------------------------------------------------

function bytesOf(values: Float32Array | Uint32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function concatFloats(arrays: readonly Float32Array[]): Float32Array {
  const all = new Float32Array(arrays.reduce((sum, a) => sum + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    all.set(a, offset);
    offset += a.length;
  }
  return all;
}

/** Splits float32 bytes into arrays of the given shapes; the byte count must match exactly. */
function floatsOf(bytes: Uint8Array, file: string, shapes: readonly number[][]): Float32Array[] {
  const sizes = shapes.map((shape) => shape.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (bytes.byteLength !== total * 4) throw new CheckpointCorruptError(`${file} has ${bytes.byteLength} bytes; the state describes ${total} float32 values (${total * 4} bytes)`);
  const all = new Float32Array(bytes.slice().buffer);
  let offset = 0;
  return sizes.map((size) => all.subarray(offset, (offset += size)));
}

function isPermutation(order: Uint32Array): boolean {
  const seen = new Uint8Array(order.length);
  for (const value of order) {
    if (value >= order.length || seen[value]) return false;
    seen[value] = 1;
  }
  return true;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
