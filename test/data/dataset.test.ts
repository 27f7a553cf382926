import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { loadSplit, readManifest } from '../../lib/data/dataset.ts';
import { DataValidationError } from '../../lib/errors.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { localFile } from '../../lib/data/input-file.ts';
import { MANIFEST_FILE, parseManifest, type Manifest } from '../../lib/data/manifest.ts';
import { decodeShard, encodeShard } from '../../lib/data/shard.ts';
import { FIXTURES, assertRejects } from './helpers.ts';

let root: string;
let dir: string;
let manifest: Manifest;
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fmnist-dataset-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
/** A fresh two-split dataset per test, since tests damage it. */
beforeEach(async () => {
  dir = join(root, `dataset-${n++}`);
  const fixture = localFile(join(FIXTURES, 'three-rows.csv'));
  manifest = await ingestDataset({ train: [fixture, fixture], test: [fixture], outDir: dir, examplesPerShard: 4 });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const writeManifest = (value: unknown) => writeFile(join(dir, MANIFEST_FILE), JSON.stringify(value));

describe('shard files', () => {
  it('follow the documented layout: FMNS header, labels, then pixels', () => {
    const labels = Uint8Array.from([7, 2]);
    const pixels = Uint8Array.from({ length: 2 * PIXELS_PER_IMAGE }, (_, i) => i % 251);
    const bytes = Buffer.concat(encodeShard(labels, pixels, 2));
    assert.equal(bytes.toString('latin1', 0, 4), 'FMNS');
    assert.deepEqual([bytes.readUInt16LE(4), bytes.readUInt16LE(6), bytes.readUInt16LE(8), bytes.readUInt32LE(12)], [1, 28, 28, 2]);
    assert.deepEqual([...bytes.subarray(16, 18)], [7, 2]);
    assert.deepEqual(new Uint8Array(bytes.subarray(18)), pixels);
    assert.equal(bytes.length, 16 + 2 + 2 * PIXELS_PER_IMAGE);
    const decoded = decodeShard(bytes, 'x.bin');
    assert.deepEqual([...decoded.labels], [7, 2]);
    assert.equal(decoded.count, 2);
  });

  it('are rejected on decode when the header is wrong', () => {
    const good = Buffer.concat(encodeShard(Uint8Array.from([1]), new Uint8Array(PIXELS_PER_IMAGE), 1));
    const damaged = (offset: number, byte: number) => Buffer.from(good).fill(byte, offset, offset + 1);
    assert.throws(() => decodeShard(damaged(0, 0x58), 'x.bin'), /x\.bin: not a shard: magic "XMNS"/);
    assert.throws(() => decodeShard(damaged(4, 9), 'x.bin'), /unsupported shard version 9/);
    assert.throws(() => decodeShard(damaged(6, 32), 'x.bin'), /shard images are 32x28/);
    assert.throws(() => decodeShard(damaged(16, 10), 'x.bin'), /label 10 of example 1 is out of range/);
    assert.throws(() => decodeShard(good.subarray(0, good.length - 1), 'x.bin'), /should be 801 bytes, found 800/);
  });
});

describe('loadSplit', () => {
  it('loads both splits with their counts', async () => {
    assert.equal((await loadSplit(dir, 'train')).count, 6);
    assert.equal((await loadSplit(dir, 'test')).count, 3);
    assert.deepEqual(manifest.splits.train.shards.map((s) => s.examples), [4, 2]);
  });

  it('detects a changed byte in a shard by its checksum, naming the shard', async () => {
    const path = join(dir, 'train-00001.bin');
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(path, bytes);
    await assertRejects(loadSplit(dir, 'train'), { file: path, reason: /checksum mismatch/ });
    assert.equal((await loadSplit(dir, 'test')).count, 3, 'other split unaffected');
  });

  it('detects a shard of the wrong size', async () => {
    const path = join(dir, 'train-00000.bin');
    await appendFile(path, Buffer.from([0]));
    await assertRejects(loadSplit(dir, 'train'), { file: path, reason: /shard is 3157 bytes, the manifest says 3156/ });
  });

  it('detects a missing shard', async () => {
    const path = join(dir, 'test-00000.bin');
    await unlink(path);
    await assertRejects(loadSplit(dir, 'test'), { file: path, reason: /missing/ });
  });

  it('detects a shard swapped for another valid one (checksum and count updated in the manifest)', async () => {
    // Put the 4-example train shard where the 3-example test shard was, with a consistent manifest
    // entry: only the example count and histogram checks can notice.
    const train0 = await readFile(join(dir, 'train-00000.bin'));
    await writeFile(join(dir, 'test-00000.bin'), train0);
    const edited = structuredClone(manifest);
    edited.splits.test.shards[0] = { file: 'test-00000.bin', examples: 4, bytes: train0.length, sha256: sha256(train0) };
    edited.splits.test.examples = 4;
    edited.splits.test.labelHistogram = [1, 0, 0, 0, 1, 0, 0, 0, 0, 2];
    await writeManifest(edited);
    await assertRejects(loadSplit(dir, 'test'), { file: join(dir, MANIFEST_FILE), reason: /test has 2 examples of label 0, the manifest says 1/ });
  });
});

describe('manifests', () => {
  it('round trip through JSON', async () => {
    assert.deepEqual(parseManifest(JSON.parse(JSON.stringify(manifest)), 'm.json'), manifest);
    assert.deepEqual(await readManifest(dir), manifest);
  });

  const tamper: [string, (m: any) => void, RegExp][] = [
    ['a shard path outside the directory', (m) => (m.splits.train.shards[0].file = '../../etc/passwd'), /splits\.train\.shards\[0\]\.file: expected a file name like train-00000\.bin/],
    ['a test shard listed under train', (m) => (m.splits.train.shards[0].file = 'test-00000.bin'), /splits\.train\.shards\[0\]\.file/],
    ['a histogram that does not sum to the count', (m) => (m.splits.test.labelHistogram[0] += 1), /splits\.test\.labelHistogram: counts sum to 4, but examples is 3/],
    ['shards that do not add up', (m) => (m.splits.train.examples = 7), /splits\.train\.labelHistogram: counts sum to 6, but examples is 7/],
    ['a bad checksum', (m) => (m.splits.train.shards[1].sha256 = 'abc'), /splits\.train\.shards\[1\]\.sha256: expected 64 lowercase hex/],
    ['a wrong format version', (m) => (m.formatVersion = 2), /formatVersion: expected 1, found 2/],
    ['a missing split', (m) => delete m.splits.test, /splits\.test: expected an object, found nothing/],
    ['a wrong image shape', (m) => (m.imageShape = [32, 32, 1]), /imageShape/],
    ['a negative count', (m) => (m.splits.test.shards[0].examples = -1), /splits\.test\.shards\[0\]\.examples: expected a whole number >= 0, found -1/],
    ['a shard size that does not match its count', (m) => (m.splits.test.shards[0].bytes += 1), /splits\.test\.shards\[0\]\.bytes/],
  ];
  for (const [what, edit, reason] of tamper) {
    it(`reject ${what}`, async () => {
      const edited = structuredClone(manifest);
      edit(edited);
      await writeManifest(edited);
      await assertRejects(readManifest(dir), { file: join(dir, MANIFEST_FILE), reason });
    });
  }

  it('reject invalid JSON and a missing manifest, naming the file', async () => {
    await writeFile(join(dir, MANIFEST_FILE), '{"formatVersion": 1,');
    await assertRejects(readManifest(dir), { file: join(dir, MANIFEST_FILE), reason: /not valid JSON/ });
    await unlink(join(dir, MANIFEST_FILE));
    await assertRejects(readManifest(dir), { file: join(dir, MANIFEST_FILE), reason: /no manifest/ });
    await assert.rejects(loadSplit(dir, 'train'), DataValidationError);
  });
});
