import { readFile, writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import { parseJsonWith } from './validation.ts';

/** A JSON file read and checked against its schema, or undefined when there is no such file; bad content names the file and field. */
export async function readJsonFileIfExists<S extends z.ZodType>(schema: S, path: string): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseJsonWith(schema, text, path);
}

/** Pretty-printed JSON with a final newline, as every file the steps write. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n');
}
