import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodeSavedModel, type NodeDef } from './proto.ts';

/**
 * The part of tfjs-node's native addon (`tf.backend().binding` on the 'tensorflow' backend)
 * that runs a graph: it loads a SavedModel into a TF_Session and runs it with TF_SessionRun.
 * Tensors are integer ids of TFE tensor handles, outside tfjs' engine and its memory counts.
 */
export interface NativeBinding {
  TF_FLOAT: number;
  TF_INT32: number;
  TF_UINT8: number;
  createTensor(shape: number[], dtype: number, values: Float32Array | Int32Array | Uint8Array): number;
  deleteTensor(id: number): void;
  tensorDataSync(id: number): Float32Array | Int32Array | Uint8Array;
  loadSavedModel(exportDir: string, tags: string): number;
  deleteSavedModel(id: number): void;
  runSavedModel(id: number, inputIds: number[], inputNames: string, outputNames: string): { id: number; shape: number[]; dtype: number }[];
  getNumOfSavedModels(): number;
  getNumOfTensors(): number;
}

/** The native binding if the current tfjs backend is tfjs-node's, else undefined. */
export function nativeBinding(): NativeBinding | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const binding = (tf.backend() as unknown as { binding?: Partial<NativeBinding> }).binding;
  return typeof binding?.runSavedModel === 'function' && typeof binding.loadSavedModel === 'function' ? (binding as NativeBinding) : undefined;
}

export type FeedValues = Float32Array | Int32Array | Uint8Array;

export interface Feed {
  name: string;
  shape: number[];
  values: FeedValues;
}

const TAGS = 'serve';

/** A graph loaded into its own TensorFlow session; variables live in the session between runs. */
export class GraphSession {
  private id: number | undefined;

  private constructor(
    private readonly binding: NativeBinding,
    id: number,
  ) {
    this.id = id;
  }

  /** Writes the graph as a SavedModel to a temporary directory, loads it, and removes the directory. */
  static async load(binding: NativeBinding, nodes: readonly NodeDef[]): Promise<GraphSession> {
    const dir = await mkdtemp(join(tmpdir(), 'fmnist-graph-'));
    try {
      await writeFile(join(dir, 'saved_model.pb'), encodeSavedModel(nodes, [TAGS]));
      return new GraphSession(binding, binding.loadSavedModel(dir, TAGS));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Runs the graph once: feeds in, fetched tensors' values out (copied; no native tensor outlives the call). */
  run(feeds: readonly Feed[], fetches: readonly string[]): FeedValues[] {
    if (this.id === undefined) throw new Error('the graph session is closed');
    const b = this.binding;
    const inputs: number[] = [];
    let outputs: { id: number }[] = [];
    try {
      for (const feed of feeds) inputs.push(b.createTensor(feed.shape, dtypeOf(b, feed.values), feed.values));
      outputs = b.runSavedModel(this.id, inputs, feeds.map((feed) => feed.name).join(','), fetches.join(','));
      return outputs.map((output) => b.tensorDataSync(output.id));
    } finally {
      for (const id of inputs) b.deleteTensor(id);
      for (const output of outputs) b.deleteTensor(output.id);
    }
  }

  dispose(): void {
    if (this.id === undefined) return;
    this.binding.deleteSavedModel(this.id);
    this.id = undefined;
  }
}

function dtypeOf(b: NativeBinding, values: FeedValues): number {
  if (values instanceof Float32Array) return b.TF_FLOAT;
  if (values instanceof Int32Array) return b.TF_INT32;
  return b.TF_UINT8;
}
