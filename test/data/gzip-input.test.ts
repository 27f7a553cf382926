import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readExamples } from '../../lib/data/examples.ts';
import { localFile } from '../../lib/data/input-file.ts';
import { FIXTURE_LABELS, FIXTURES, assertRejects, collect, fixturePixels, memoryFile } from './helpers.ts';

async function readAll(file: ReturnType<typeof memoryFile>): Promise<void> {
  for await (const batch of readExamples([file])) void batch;
}

describe('gzip input', () => {
  it('gives exactly the examples of the plain file', async () => {
    const plain = await collect([localFile(join(FIXTURES, 'three-rows.csv'))]);
    const gzipped = await collect([localFile(join(FIXTURES, 'three-rows.csv.gz'))]);
    assert.deepEqual(gzipped, plain);
    assert.deepEqual([...gzipped.labels], FIXTURE_LABELS);
    assert.deepEqual(gzipped.pixels, fixturePixels(3));
  });

  it('is recognised by its magic bytes, not its name', async () => {
    const text = await readFile(join(FIXTURES, 'three-rows.csv'));
    const gzipNamedCsv = await collect([memoryFile('really-gzip.csv', gzipSync(text))]);
    const plainNamedGz = await collect([memoryFile('really-plain.csv.gz', text)]);
    assert.deepEqual(gzipNamedCsv.pixels, fixturePixels(3));
    assert.deepEqual(plainNamedGz.pixels, fixturePixels(3));
  });

  it('reports line and column of an error inside compressed data', async () => {
    const text = (await readFile(join(FIXTURES, 'three-rows.csv'), 'utf8')).split('\n');
    const row = text[2].split(',');
    row[100] = '999';
    text[2] = row.join(',');
    await assertRejects(readAll(memoryFile('bad.csv.gz', gzipSync(text.join('\n')), 777)), {
      file: 'bad.csv.gz',
      line: 3,
      column: '101 (pixel100)',
      reason: /999 is out of range/,
    });
  });

  it('rejects truncated gzip, naming the file', async () => {
    const gz = await readFile(join(FIXTURES, 'three-rows.csv.gz'));
    await assertRejects(readAll(memoryFile('cut.csv.gz', gz.subarray(0, gz.length - 100))), {
      file: 'cut.csv.gz',
      reason: /gzip data is truncated/,
    });
  });

  it('rejects corrupt gzip data, naming the file', async () => {
    const gz = Buffer.from(await readFile(join(FIXTURES, 'three-rows.csv.gz')));
    for (let i = 20; i < 60; i++) gz[i] ^= 0x5a;
    await assertRejects(readAll(memoryFile('corrupt.csv.gz', gz)), { file: 'corrupt.csv.gz', reason: /corrupt gzip data|gzip data is truncated/ });
  });

  it('rejects a bad gzip header, naming the file', async () => {
    const gz = Buffer.from(await readFile(join(FIXTURES, 'three-rows.csv.gz')));
    gz[2] = 0x07; // compression method: only 8 (deflate) exists
    await assertRejects(readAll(memoryFile('header.csv.gz', gz)), { file: 'header.csv.gz', reason: /corrupt gzip data/ });
  });
});
