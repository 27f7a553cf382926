import { statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ConfigError } from '../errors.ts';

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
      const handle = await openReadableFile(path);
      return handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
    },
  };
}

/**
 * Opens a local data file for reading, or refuses in one line naming it: missing, unreadable,
 * a directory (which open() accepts on Linux, only for the first read to fail with a bare EISDIR).
 * `regularOnly` also refuses pipes and devices.
 */
export async function openReadableFile(path: string, options: { regularOnly?: boolean } = {}): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ConfigError(fileProblem(path, error));
  }
  const info = await handle.stat();
  // A pipe (`<(zcat ...)`) streams fine; only a caller that reads twice needs a regular file.
  if (info.isDirectory() || (options.regularOnly && !info.isFile())) {
    await handle.close();
    throw new ConfigError(`${path}: ${info.isDirectory() ? 'is a directory' : 'is not a regular file'}; give a data file`);
  }
  return handle;
}

/** One line on why `path` could not be opened or read. */
export function fileProblem(path: string, error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `${path}: no such file`;
    case 'ENOTDIR':
      return `${path}: no such file (a part of the path is not a directory)`;
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied`;
    case 'EISDIR':
      return `${path}: is a directory; give a data file`;
    default:
      return `${path}: cannot be read (${(error as Error).message})`;
  }
}
