import { DataValidationError } from '../errors.ts';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, hex32 } from './idx-reader.ts';

export type InputFormat = 'csv' | 'idx-images' | 'idx-labels';

/** How many leading content bytes `detectFormat` needs. */
export const FORMAT_SIGNATURE_BYTES = 4;

const IDX_NAME = /^(.*)(images|labels)([-_.]idx)([13])([-_.]ubyte)$/i;

/** The IDX pairing key of a file name: `train-images-idx3-ubyte.gz` and `train-labels-idx1-ubyte` share one. */
export function idxPairKey(name: string): { key: string; kind: 'images' | 'labels' } | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1).replace(/\.gz$/i, '');
  const match = IDX_NAME.exec(base);
  if (!match) return undefined;
  const [, prefix, kind, dimsSeparator, , ubyte] = match;
  return { key: `${prefix}|${dimsSeparator}|${ubyte}`.toLowerCase(), kind: kind.toLowerCase() as 'images' | 'labels' };
}

/**
 * Decides from the first (decompressed) bytes, not the name. IDX files start with two zero bytes,
 * which no CSV does; anything else goes to the CSV reader, which explains what is wrong with it.
 */
export function detectFormat(name: string, head: Buffer): InputFormat {
  const looksIdx = head.length >= 2 && head[0] === 0 && head[1] === 0;
  if (!looksIdx && !idxPairKey(name)) return 'csv';
  const magic = head.length >= FORMAT_SIGNATURE_BYTES ? head.readUInt32BE(0) : undefined;
  if (magic === IDX_IMAGES_MAGIC) return 'idx-images';
  if (magic === IDX_LABELS_MAGIC) return 'idx-labels';
  const found = magic === undefined ? `only ${head.length} bytes` : `magic number ${hex32(magic)}`;
  throw new DataValidationError(
    name,
    `bad IDX magic: found ${found}, expected ${hex32(IDX_IMAGES_MAGIC)} (images) or ${hex32(IDX_LABELS_MAGIC)} (labels)`,
  );
}
