import { availableParallelism } from 'node:os';
import { defaultForNativeLibrary, nativeLibrarySetting } from '../env.ts';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendPreference } from './config.ts';
import { registerWasmTrainingKernels } from './wasm/register.ts';

export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface TensorflowThreads {
  intraOp: number;
  interOp: number;
}

/** How training ran its steps: one TensorFlow graph per step (native backend), or tfjs op by op. */
export type TrainingStep = 'graph' | 'eager';

export interface BackendInfo {
  name: BackendName;
  tfjsVersion: string;
  /** The TensorFlow C library's version, on the native backend. */
  tensorflowVersion?: string;
  /** Threads the backend computes with, where it says (wasm). */
  threads?: number;
  /**
   * Native TensorFlow's thread pools (TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS; unset,
   * one intra-op thread and an inter-op thread per CPU: see nativeThreadDefaults): recorded
   * because they change the trained weights (the order of float sums).
   */
  tensorflowThreads?: TensorflowThreads;
  /** Set by training on the graph step: how many pieces each batch ran in side by side (lib/model/graph/chains.ts). */
  graphChains?: number;
  /** Why 'auto' did not get the native backend. */
  fallbackReason?: string;
  /** Set by training: how its steps ran. */
  trainingStep?: TrainingStep;
}

/** Native TensorFlow's pools as the initialised backend reported them, or undefined on another backend. */
export function currentTensorflowThreads(): TensorflowThreads | undefined {
  return current !== undefined && tf.getBackend() === 'tensorflow' ? current.info.tensorflowThreads : undefined;
}

export const NATIVE_SETUP_HINT = 'run `npm run setup:native` to build it from the TensorFlow wheel';

let current: { preference: BackendPreference; info: BackendInfo } | undefined;
let warnedAboutFallback = false;

/**
 * Selects and initialises the tfjs backend. 'auto' takes native TensorFlow (tfjs-node) if its
 * addon loads, else WebAssembly, else plain JS, and warns once when it falls back from native.
 * An explicit choice fails if that backend cannot start. The operator's override
 * (FMNIST_BACKEND) is the caller's to apply: lib/model/choices.ts parses it at the edges.
 * Idempotent: a second call with the same preference returns the same info without work.
 * @param options.warn where the fallback warning goes (once per process); none: not shown
 */
export async function initBackend(preference: BackendPreference = 'auto', options: { warn?(message: string): void } = {}): Promise<BackendInfo> {
  if (current?.preference === preference && tf.getBackend() === current.info.name) return current.info;
  const info = preference === 'auto' ? await initAuto(options.warn) : await initExactly(preference);
  current = { preference, info };
  return info;
}

async function initAuto(warn: ((message: string) => void) | undefined): Promise<BackendInfo> {
  const native = await tryNative();
  if (native.ok) return native.info;
  const reasons = [`native TensorFlow unavailable: ${native.reason}`];
  let info: BackendInfo;
  try {
    info = await initWasm();
  } catch (error) {
    reasons.push(`WebAssembly unavailable: ${firstLine(error)}`);
    info = await initCpu();
  }
  info = { ...info, fallbackReason: reasons.join('; ') };
  if (!warnedAboutFallback && warn !== undefined) {
    warnedAboutFallback = true;
    warn(
      `[fmnist] Training on the ${info.name === 'wasm' ? 'WebAssembly' : 'plain JavaScript'} backend, ` +
        `several times slower than native TensorFlow (${reasons.join('; ')}). For native speed, ${NATIVE_SETUP_HINT}.`,
    );
  }
  return info;
}

async function initExactly(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case 'tensorflow': {
      const native = await tryNative();
      if (!native.ok) throw new Error(`The native TensorFlow backend is unavailable: ${native.reason}. To get it, ${NATIVE_SETUP_HINT}.`);
      return native.info;
    }
    case 'wasm':
      return initWasm();
    case 'cpu':
      return initCpu();
  }
}

type NativeAttempt = { ok: true; info: BackendInfo } | { ok: false; reason: string };

/**
 * TensorFlow's C++ info logs (oneDNN notices, a few lines per graph session loaded) would
 * interleave with progress output; warnings and errors still show. An explicit setting wins.
 * TensorFlow's C library reads it when the native addon loads, so it can only be set here, just
 * before that import (through lib/env.ts, the one place lib/ touches the environment).
 */
function quietTensorFlowInfoLogs(): void {
  defaultForNativeLibrary('TF_CPP_MIN_LOG_LEVEL', '1');
}

/**
 * Unless set: one intra-op thread, and TensorFlow's default inter-op pool (a thread per CPU).
 * The graph step then runs each batch as several independent pieces, one per inter-op thread
 * (lib/model/graph/chains.ts), each kernel on one thread: 1.2-1.3x faster a step on 2 cores
 * than two intra-op threads splitting every small kernel (bench/README.md, "Chains"). Read by
 * the C library when the addon loads, so set just before that import, as the log level is.
 */
function nativeThreadDefaults(): void {
  defaultForNativeLibrary('TF_NUM_INTRAOP_THREADS', DEFAULT_INTRA_OP_THREADS);
}

const DEFAULT_INTRA_OP_THREADS = '1';

async function tryNative(): Promise<NativeAttempt> {
  quietTensorFlowInfoLogs();
  nativeThreadDefaults();
  try {
    // Importing registers the 'tensorflow' backend on the @tensorflow/tfjs it requires, and selects it.
    await import('@tensorflow/tfjs-node');
  } catch (error) {
    return { ok: false, reason: firstLine(error) };
  }
  if (tf.findBackend('tensorflow') === null) {
    // A second copy of tfjs-core: tfjs-node's backend exists, but not where our tensors live.
    return { ok: false, reason: '@tensorflow/tfjs-node loaded a different copy of @tensorflow/tfjs-core than @tensorflow/tfjs' };
  }
  if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: 'the tensorflow backend failed to initialise' };
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  return { ok: true, info: { name: 'tensorflow', tfjsVersion: tf.version.tfjs, tensorflowVersion: binding?.TF_Version, tensorflowThreads: tensorflowThreads() } };
}

function tensorflowThreads(): TensorflowThreads {
  return tensorflowThreadsFor({ TF_NUM_INTRAOP_THREADS: nativeLibrarySetting('TF_NUM_INTRAOP_THREADS'), TF_NUM_INTEROP_THREADS: nativeLibrarySetting('TF_NUM_INTEROP_THREADS') });
}

/**
 * The pools native TensorFlow sizes from these settings once the backend's default applies (an
 * unset intra-op count is 1, nativeThreadDefaults): a positive count, else every CPU (as
 * TensorFlow reads 0). For a process that starts TensorFlow with such settings (bench/profile-step.ts).
 */
export function tensorflowThreadsFor(settings: { TF_NUM_INTRAOP_THREADS?: string; TF_NUM_INTEROP_THREADS?: string }): TensorflowThreads {
  const count = (value: string | undefined) => {
    const n = Number(value);
    return Number.isInteger(n) && n > 0 ? n : availableParallelism();
  };
  return { intraOp: count(settings.TF_NUM_INTRAOP_THREADS ?? DEFAULT_INTRA_OP_THREADS), interOp: count(settings.TF_NUM_INTEROP_THREADS) };
}

let wasmPathsSet = false;

async function initWasm(): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmTrainingKernels();
  if (!wasmPathsSet && tf.findBackend('wasm') === null) {
    // Point at the .wasm files in node_modules explicitly: bundlers move the JS away from them.
    const directory = wasmBinaryDirectory();
    if (directory !== undefined) wasm.setWasmPaths(directory);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  return { name: 'wasm', tfjsVersion: tf.version.tfjs, threads: wasm.getThreadsCount() };
}

/** Where the package's .wasm files are, or undefined where it cannot be resolved (then the package looks next to its own JS). */
function wasmBinaryDirectory(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + '/';
  } catch {
    return undefined;
  }
}

async function initCpu(): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  return { name: 'cpu', tfjsVersion: tf.version.tfjs };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim();
}
