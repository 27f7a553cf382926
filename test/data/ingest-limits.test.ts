import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { runtimeResources } from '../../lib/aws/runtime-env.ts';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { ConfigError, DataValidationError } from '../../lib/errors.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { ingestLimitsFor, limitsForExamples } from '../../lib/data/ingest-limits.ts';
import type { InputFile } from '../../lib/data/input-file.ts';
import { csvLine, HEADER, idxImages, idxLabels, memoryFile } from './helpers.ts';

/** `rows` copies of one row: what a tiny .csv.gz can expand to. */
function repeatedRows(rows: number): Buffer {
  const row = Buffer.from(csvLine(3, new Array(PIXELS_PER_IMAGE).fill(0)) + '\n');
  return Buffer.concat([Buffer.from(HEADER + '\n'), Buffer.alloc(row.length * rows).fill(row)]);
}

/** An input that arrives in small chunks, as a network stream does. */
function streamedFile(name: string, bytes: Buffer, chunkSize = 4096): InputFile {
  return {
    name,
    async open() {
      function* chunks() {
        for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
      }
      return Readable.from(chunks(), { objectMode: false });
    },
  };
}

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fmnist-ingest-limits-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** Ingest into a fresh parent and check that a rejection left nothing in it. */
async function rejectsLeavingNothing(options: Omit<Parameters<typeof ingestDataset>[0], 'outDir'>, check: (error: DataValidationError) => void) {
  const parent = join(root, `case-${n++}`);
  await assert.rejects(ingestDataset({ ...options, outDir: join(parent, 'dataset') }), (error: Error) => {
    assert.ok(error instanceof DataValidationError, String(error));
    check(error);
    return true;
  });
  assert.deepEqual(await readdir(parent).catch(() => []), [], 'nothing left behind');
}

describe('ingest limits, checked while streaming', () => {
  it('a gzip bomb of repeated rows is stopped before it expands', async () => {
    const expanded = repeatedRows(40_000); // 62 MB of CSV ...
    const bomb = streamedFile('raw/bomb.csv.gz', gzipSync(expanded)); // ... in ~60 KB
    const small = memoryFile('raw/test.csv', repeatedRows(5));
    await rejectsLeavingNothing({ train: [bomb], test: [small], limits: limitsForExamples(1000, 'the test limits') }, (error) => {
      assert.equal(error.file, 'raw/bomb.csv.gz');
      assert.match(error.reason, /^too large to ingest here: more than [\d,]+ (bytes of content after decompression|examples) \(train and test together\), the most the test limits can hold; stopped after [\d,]+ examples, [\d,]+ bytes of this file decompressed$/);
      const decompressed = Number(/([\d,]+) bytes of this file/.exec(error.reason)![1].replace(/,/g, ''));
      assert.ok(decompressed < 8_000_000, `stopped after ${decompressed} bytes`);
    });
    // What bounds memory and /tmp is the decompressed count above. How much of the small compressed
    // file is pulled in meanwhile depends on stream buffer sizes (Node.js 22 reads 64 KiB ahead
    // where 20 reads 16 KiB), so it is not asserted.
  });

  it('too many examples, train and test together, names the file that passed the limit', async () => {
    const train = memoryFile('raw/train.csv', repeatedRows(15));
    const test = memoryFile('raw/test.csv', repeatedRows(10));
    await rejectsLeavingNothing({ train: [train], test: [test], limits: limitsForExamples(20, 'this function') }, (error) => {
      assert.equal(error.file, 'raw/test.csv');
      assert.match(error.reason, /more than 20 examples \(train and test together\), the most this function can hold; stopped after 15 examples/);
    });
    // At the limit exactly: accepted.
    const manifest = await ingestDataset({ train: [train], test: [test], outDir: join(root, `case-${n++}`, 'dataset'), limits: limitsForExamples(25, 'this function') });
    assert.equal(manifest.splits.train.examples + manifest.splits.test.examples, 25);
  });

  it('a stream of blank lines is stopped by the decompressed-bytes limit, though it holds no example', async () => {
    const blank = Buffer.concat([repeatedRows(2), Buffer.alloc(30_000_000, 0x0a)]);
    const file = streamedFile('raw/blank.csv.gz', gzipSync(blank));
    await rejectsLeavingNothing({ train: [file], test: [memoryFile('raw/test.csv', repeatedRows(2))], limits: limitsForExamples(100, 'the test limits') }, (error) => {
      assert.equal(error.file, 'raw/blank.csv.gz');
      assert.match(error.reason, /more than 1,458,176 bytes of content after decompression/);
    });
  });

  it('an IDX labels file announcing more examples than allowed is refused before they are allocated', async () => {
    const labels = memoryFile('train-labels-idx1-ubyte', idxLabels([1, 2], { count: 2_000_000_000 }));
    const images = memoryFile('train-images-idx3-ubyte', idxImages(2, new Uint8Array(2 * PIXELS_PER_IMAGE)));
    await rejectsLeavingNothing({ train: [images, labels], test: [memoryFile('raw/test.csv', repeatedRows(2))], limits: limitsForExamples(1000, 'the test limits') }, (error) => {
      assert.equal(error.file, 'train-labels-idx1-ubyte');
      assert.match(error.reason, /its header announces 2,000,000,000 examples, more than the 1,000 still allowed/);
    });
  });

  it('without limits (the CLI on a laptop) nothing is capped', async () => {
    const manifest = await ingestDataset({ train: [streamedFile('raw/many.csv.gz', gzipSync(repeatedRows(5000)))], test: [memoryFile('raw/test.csv', repeatedRows(3))], outDir: join(root, `case-${n++}`, 'dataset') });
    assert.equal(manifest.splits.train.examples, 5000);
  });
});

describe('limits from the function environment', () => {
  const MiB = 2 ** 20;
  it('none without either variable; Lambda memory bounds what the summary holds, /tmp what the shards take', () => {
    assert.equal(ingestLimitsFor(runtimeResources({})), undefined);
    const stack = ingestLimitsFor(runtimeResources({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048', FMNIST_EPHEMERAL_STORAGE_MIB: '2048' }))!;
    assert.equal(stack.source, "this ingest's 2048 MiB of memory and 2048 MiB of /tmp");
    // Full Fashion-MNIST (70,000 examples, 55 MB of shards) fits with room to spare; no more
    // than 2 GiB of examples (785 bytes each) can.
    assert.ok(stack.maxExamples > 10 * 70_000 && stack.maxExamples < (2048 * MiB) / 785, String(stack.maxExamples));
    const moreMemory = ingestLimitsFor({ memoryMiB: 4096, ephemeralStorageMiB: 2048 })!;
    const moreTmp = ingestLimitsFor({ memoryMiB: 2048, ephemeralStorageMiB: 4096 })!;
    assert.ok(moreMemory.maxExamples > stack.maxExamples, 'at 2048/2048 memory is the bound ...');
    assert.equal(moreTmp.maxExamples, stack.maxExamples, '... so more /tmp changes nothing');
    assert.equal(moreMemory.maxExamples, ingestLimitsFor({ memoryMiB: 8192, ephemeralStorageMiB: 2048 })!.maxExamples, 'with 4096 MiB, /tmp is');
    // Only the memory known (a Lambda without the stack's variable): Lambda's default 512 MiB of /tmp.
    assert.match(ingestLimitsFor({ memoryMiB: 2048 })!.source, /512 MiB of \/tmp/);
    assert.equal(ingestLimitsFor({ memoryMiB: 128, ephemeralStorageMiB: 512 })!.maxExamples, 0, 'less memory than the runtime itself');
  });

  it('a malformed variable fails, naming it', () => {
    for (const [name, value] of [
      ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'lots'],
      ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '64'],
      ['FMNIST_EPHEMERAL_STORAGE_MIB', '20000'],
      ['FMNIST_EPHEMERAL_STORAGE_MIB', ''],
    ]) {
      assert.throws(() => runtimeResources({ [name]: value }), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`^environment variable ${name}: .*, got ${JSON.stringify(JSON.stringify(value)).slice(1, -1)}$`));
        return true;
      });
    }
  });
});
