import { readFile } from 'node:fs/promises';
import { NUM_CLASSES } from '../lib/data/classes.ts';
import { DataValidationError } from '../lib/errors.ts';

/**
 * Reads a file of one class label (0..9) per line, as written by `evaluate` (predictions.txt)
 * or by any other tool. Blank lines are only allowed at the end.
 */
export async function readLabelFile(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataValidationError(path, `cannot read file: ${(error as Error).message}`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new DataValidationError(path, 'file is empty: expected one label (0-9) per line');
  const labels = new Uint8Array(lines.length);
  lines.forEach((line, index) => {
    if (!/^\d+$/.test(line) || Number(line) >= NUM_CLASSES) {
      throw new DataValidationError(
        path,
        `expected a label from 0 to ${NUM_CLASSES - 1}, found ${JSON.stringify(line)}`,
        index + 1,
        1,
      );
    }
    labels[index] = Number(line);
  });
  return labels;
}
