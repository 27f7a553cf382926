import { DataValidationError } from '../errors.ts';
import { idxPairKey } from './input-format.ts';

/**
 * Matches IDX image files to their labels files: by name (X-images-idx3-ubyte[.gz] with
 * X-labels-idx1-ubyte[.gz]), or, when there is exactly one of each, whatever their names.
 * Returns, for each images file, its labels file.
 */
export function pairIdxFiles<T extends { name: string }>(images: T[], labels: T[]): Map<T, T> {
  const pairs = new Map<T, T>();
  if (images.length === 1 && labels.length === 1) {
    pairs.set(images[0], labels[0]);
    return pairs;
  }
  const labelsByKey = new Map<string, T>();
  for (const file of labels) {
    const key = idxPairKey(file.name)?.key;
    if (key !== undefined && labelsByKey.has(key)) {
      throw new DataValidationError(file.name, `two IDX labels files for the same images: ${labelsByKey.get(key)!.name} and ${file.name}`);
    }
    if (key !== undefined) labelsByKey.set(key, file);
  }
  const used = new Set<T>();
  for (const file of images) {
    const key = idxPairKey(file.name)?.key;
    const match = key === undefined ? undefined : labelsByKey.get(key);
    if (!match || used.has(match)) {
      throw new DataValidationError(file.name, 'IDX images file without a labels file (expected a matching ...-labels-idx1-ubyte[.gz] among the inputs)');
    }
    used.add(match);
    pairs.set(file, match);
  }
  const orphan = labels.find((file) => !used.has(file));
  if (orphan) {
    throw new DataValidationError(orphan.name, 'IDX labels file without an images file (expected a matching ...-images-idx3-ubyte[.gz] among the inputs)');
  }
  return pairs;
}
