import { MODEL_FILES } from '../workflow/files.ts';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Models in the standard tfjs layers format (model.json + one weights file), loadable by any
 * tfjs (`tf.loadLayersModel`) and convertible to Keras with tensorflowjs_converter. Only
 * in-memory IO handlers are used, so no backend-specific file system support (tfjs-node's
 * file://) is needed, and a Lambda can move models to and from S3 without a temp directory.
 */

/** The names come from the one registry of file names (lib/workflow/files.ts, which imports nothing). */
export const MODEL_JSON = MODEL_FILES.model;
export const WEIGHTS_BIN = MODEL_FILES.weights;
export type ModelFileName = typeof MODEL_JSON | typeof WEIGHTS_BIN;
/** Every file of a saved model, by name; weights first, so writing in order leaves model.json last. */
export const MODEL_FILE_NAMES: readonly ModelFileName[] = [WEIGHTS_BIN, MODEL_JSON];
export type ModelFiles = Record<ModelFileName, Uint8Array>;

export type ModelMetadata = Record<string, unknown>;

export async function modelToFiles(model: tf.LayersModel, metadata?: ModelMetadata): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      files = modelArtifactsToFiles({ ...artifacts, trainingConfig: artifacts.trainingConfig ?? compileSettings(model) }, metadata);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return files!;
}

/**
 * The model's loss, metrics and optimiser settings (not the optimiser's state), which tfjs
 * saves only along with that state. Saved, they make loaded models come back compiled.
 */
function compileSettings(model: tf.LayersModel): tf.io.TrainingConfig | undefined {
  if (model.optimizer === undefined) return undefined;
  return (model as unknown as { getTrainingConfig(): tf.io.TrainingConfig }).getTrainingConfig();
}

export async function modelFromFiles(files: ModelFiles): Promise<{ model: tf.LayersModel; metadata?: ModelMetadata }> {
  const { artifacts, metadata } = filesToModelArtifacts(files);
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  return metadata === undefined ? { model } : { model, metadata };
}

/** Pure: artifacts (from `tf.io.withSaveHandler`) to file contents. `metadata` goes in model.json's userDefinedMetadata. */
export function modelArtifactsToFiles(artifacts: tf.io.ModelArtifacts, metadata?: ModelMetadata): ModelFiles {
  if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
    throw new Error('model artifacts lack topology or weights');
  }
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
  };
  if (artifacts.trainingConfig !== undefined) modelJson.trainingConfig = artifacts.trainingConfig;
  const userDefinedMetadata = { ...(artifacts.userDefinedMetadata ?? {}), ...(metadata ?? {}) };
  if (Object.keys(userDefinedMetadata).length > 0) modelJson.userDefinedMetadata = userDefinedMetadata as Record<string, {}>;
  return {
    [WEIGHTS_BIN]: new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)),
    [MODEL_JSON]: new TextEncoder().encode(JSON.stringify(modelJson)),
  };
}

/** Pure: file contents back to artifacts for `tf.io.fromMemory`, plus the metadata stored with them. */
export function filesToModelArtifacts(files: ModelFiles): { artifacts: tf.io.ModelArtifacts; metadata?: ModelMetadata } {
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(new TextDecoder().decode(files[MODEL_JSON])) as tf.io.ModelJSON;
  } catch (error) {
    throw new Error(`${MODEL_JSON} is not valid JSON: ${(error as Error).message}`);
  }
  if (modelJson.modelTopology === undefined || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${MODEL_JSON} is not a tfjs layers model (no modelTopology or weightsManifest)`);
  }
  const paths = modelJson.weightsManifest.flatMap((group) => group.paths);
  if (paths.length !== 1 || paths[0] !== WEIGHTS_BIN) {
    throw new Error(`${MODEL_JSON} lists weight files [${paths.join(', ')}]; expected only ${WEIGHTS_BIN}`);
  }
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const weights = files[WEIGHTS_BIN];
  const expectedBytes = weightSpecs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * bytesPer(spec.dtype), 0);
  if (weights.byteLength !== expectedBytes) {
    throw new Error(`${WEIGHTS_BIN} has ${weights.byteLength} bytes; ${MODEL_JSON} describes ${expectedBytes}`);
  }
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const artifacts = tf.io.getModelArtifactsForJSONSync(modelJson, weightSpecs, weightData);
  const metadata = modelJson.userDefinedMetadata as ModelMetadata | undefined;
  return metadata === undefined ? { artifacts } : { artifacts, metadata };
}

/**
 * Writes model.json and weights.bin into `dir` (created if needed). Each file is written to a
 * temporary name and renamed, weights first, so a reader never sees a model.json whose weights
 * are missing or half written. Returns the paths written.
 */
export async function saveModel(model: tf.LayersModel, dir: string, metadata?: ModelMetadata): Promise<string[]> {
  const files = await modelToFiles(model, metadata);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const name of MODEL_FILE_NAMES) {
    const path = join(dir, name);
    await writeFile(`${path}.partial`, files[name]);
    await rename(`${path}.partial`, path);
    written.push(path);
  }
  return written;
}

export async function loadModel(dir: string): Promise<{ model: tf.LayersModel; metadata?: ModelMetadata }> {
  const [modelJson, weights] = await Promise.all([readFile(join(dir, MODEL_JSON)), readFile(join(dir, WEIGHTS_BIN))]);
  return modelFromFiles({ [MODEL_JSON]: modelJson, [WEIGHTS_BIN]: weights });
}

function bytesPer(dtype: string): number {
  // tfjs layers models store float32 / int32 weights only; quantised ones are not ours.
  if (dtype === 'float32' || dtype === 'int32') return 4;
  if (dtype === 'bool') return 1;
  throw new Error(`unsupported weight dtype ${dtype}`);
}
