import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * One input of the data layer, wherever it lives. `name` is what error messages show, so it should
 * be something the user recognises: a path or an s3:// URL.
 */
export interface InputFile {
  name: string;
  size?: number;
  open(): Promise<NodeJS.ReadableStream | Readable>;
}

/** Large reads: per-chunk overhead, not the parser, dominates with the 64 KiB default. */
const READ_CHUNK_BYTES = 1 << 20;

export function localFile(path: string): InputFile {
  return {
    name: path,
    get size() {
      try {
        return statSync(path).size;
      } catch {
        return undefined;
      }
    },
    // Opening the handle first makes a missing file fail here, at open(), rather than on the first read.
    async open() {
      const handle = await open(path, 'r');
      return handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
    },
  };
}
