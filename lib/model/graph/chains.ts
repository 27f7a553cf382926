import { currentTensorflowThreads, type TensorflowThreads } from '../backend.ts';

/**
 * Fewest rows a chain of the training step gets: below this a chain's kernels are mostly
 * overhead (a guard for small batches on many threads; not tuned).
 */
const MIN_CHAIN_ROWS = 8;

/**
 * How many pieces the graph runs a batch in side by side (GraphOptions.chains): one per group of
 * intra-op threads the inter-op pool can keep busy, so that with TensorFlow's pools as the
 * backend sets them (one intra-op thread, an inter-op thread per CPU) every CPU runs a chain of
 * single-threaded kernels. One where the threads are unknown (not native TensorFlow).
 * @param rows the rows of a batch (training) or of a predict call
 */
export function graphChains(rows: number, threads: TensorflowThreads | undefined = currentTensorflowThreads()): number {
  if (threads === undefined) return 1;
  const byThreads = Math.floor(threads.interOp / threads.intraOp);
  return Math.max(1, Math.min(byThreads, Math.floor(rows / MIN_CHAIN_ROWS)));
}

/**
 * The chained endpoint of a graph, or its one-piece copy (`single`, built with chains) for fewer
 * rows than `single.below` (the chains), whose pieces would be empty.
 */
export function endpointFor<T>(rows: number, chained: T, single: (T & { below: number }) | undefined): T {
  return single !== undefined && rows < single.below ? single : chained;
}
