/** Helpers for streams of byte chunks, whatever stream type produced them. */

export function toBuffer(chunk: unknown, name: string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  // A string chunk means someone set an encoding on the stream: the bytes are already lost.
  throw new TypeError(`${name}: expected a byte stream, got ${typeof chunk} chunks`);
}

export interface Peeked {
  /** The first `n` bytes, or fewer if the stream is shorter. */
  head: Buffer;
  /** The whole stream again, from its first byte. */
  chunks: AsyncGenerator<Buffer>;
  /** Releases the source when `chunks` will not be read to the end (or at all). */
  close(): Promise<void>;
}

/** Reads just enough chunks to see the first `n` bytes, without losing them for the real reader. */
export async function peek(source: AsyncIterable<Buffer>, n: number): Promise<Peeked> {
  const iterator = source[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let seenBytes = 0;
  let ended = false;
  while (seenBytes < n) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    seen.push(next.value);
    seenBytes += next.value.length;
  }
  const joined = seen.length === 1 ? seen[0] : Buffer.concat(seen);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (joined.length > 0) yield joined;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // Stopping early must release the underlying stream (file handle, HTTP body).
      if (!ended) await iterator.return?.();
    }
  }
  const chunks = replay();
  const close = async () => {
    await chunks.return(undefined);
    // return() on a generator that never started skips its finally block, so release directly too.
    await iterator.return?.();
  };
  return { head: joined.subarray(0, n), chunks, close };
}

/** Reports each chunk's size before handing it on; a callback that throws ends the stream there (and releases its source). */
export async function* countChunks(chunks: AsyncIterable<Buffer>, onChunk: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    onChunk(chunk.length);
    yield chunk;
  }
}
