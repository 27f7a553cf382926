import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { countChunks, peek, toBuffer } from './chunks.ts';
import { DataValidationError } from '../errors.ts';
import type { InputFile } from './input-file.ts';

export interface SourceDigest {
  /** Size and checksum of the file as stored (compressed if it is gzip). */
  bytes: number;
  sha256: string;
}

export interface Content {
  /** The file's bytes, decompressed if it is gzip. */
  chunks: AsyncGenerator<Buffer>;
  /** Only available once `chunks` has been read to the end: the checksum covers the whole file. */
  digest(): SourceDigest;
  close(): Promise<void>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const GUNZIP_CHUNK_BYTES = 256 * 1024;

/**
 * Opens an input and hands out its content, gunzipping when the first bytes say gzip (names lie:
 * a `.csv` may be compressed and a `.gz` may not). The raw bytes are hashed on the way through so
 * the manifest can name its sources without a second read.
 */
/** @param onContent sees the size of every chunk of content (after gunzip) before it is handed on; may throw to stop the read */
export async function openContent(file: InputFile, onContent?: (bytes: number) => void): Promise<Content> {
  const hash = createHash('sha256');
  let bytes = 0;
  let complete = false;

  async function* raw(): AsyncGenerator<Buffer> {
    const stream = await file.open();
    try {
      for await (const chunk of stream) {
        const buffer = toBuffer(chunk, file.name);
        hash.update(buffer);
        bytes += buffer.length;
        yield buffer;
      }
      complete = true;
    } finally {
      if ('destroy' in stream && typeof stream.destroy === 'function') stream.destroy();
    }
  }

  const rawChunks = raw();
  const peeked = await peek(rawChunks, GZIP_MAGIC.length);
  const isGzip = GZIP_MAGIC.every((byte, i) => peeked.head[i] === byte);
  const content = isGzip ? gunzip(peeked.chunks, file.name) : peeked.chunks;
  // Counted after gunzip: a limit on decompressed bytes stops a gzip bomb within one chunk.
  const chunks = onContent ? countChunks(content, onContent) : content;
  let sha256: string | undefined;
  return {
    chunks,
    digest() {
      if (!complete) throw new Error(`${file.name}: checksum requested before the file was read to the end`);
      sha256 ??= hash.digest('hex');
      return { bytes, sha256 };
    },
    async close() {
      await chunks.return(undefined);
      // A counting wrapper that never started does not pass return() on.
      await content.return(undefined);
      await peeked.close();
    },
  };
}

async function* gunzip(compressed: AsyncGenerator<Buffer>, name: string): AsyncGenerator<Buffer> {
  const input = Readable.from(compressed, { objectMode: false });
  const output = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // pipe() does not forward errors: a failing source (disk, network) must still end the read.
  input.on('error', (error) => output.destroy(error));
  input.pipe(output);
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } catch (error) {
    throw isZlibError(error) ? corruptGzip(name, error) : error;
  } finally {
    input.destroy();
    output.destroy();
  }
}

function isZlibError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

function corruptGzip(name: string, error: Error): DataValidationError {
  const truncated = /unexpected end of file/i.test(error.message);
  const reason = truncated ? 'gzip data is truncated (unexpected end of file)' : `corrupt gzip data (${error.message})`;
  return new DataValidationError(name, reason);
}
