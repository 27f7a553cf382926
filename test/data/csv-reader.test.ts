import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { readExamples } from '../../lib/data/examples.ts';
import { localFile } from '../../lib/data/input-file.ts';
import {
  FIXTURE_LABELS,
  FIXTURES,
  HEADER,
  assertRejects,
  collect,
  csvLine,
  fixturePixels,
  memoryFile,
  rowFields,
} from './helpers.ts';

const threeRows = () => readFile(join(FIXTURES, 'three-rows.csv'), 'utf8');

/** Reads everything, for tests that expect a rejection. */
async function readAll(content: string | Uint8Array, name = 'bad.csv', chunkSize?: number): Promise<number> {
  let count = 0;
  for await (const batch of readExamples([memoryFile(name, content, chunkSize)])) count += batch.count;
  return count;
}

/** Header plus rows, each row given as its fields; LF line endings and a final newline. */
function csv(rows: string[][]): string {
  return [HEADER, ...rows.map((fields) => fields.join(','))].join('\n') + '\n';
}

describe('CSV reader: accepted input', () => {
  it('reads the fixture rows exactly (labels and every pixel)', async () => {
    const got = await collect([localFile(join(FIXTURES, 'three-rows.csv'))]);
    assert.equal(got.count, 3);
    assert.deepEqual([...got.labels], FIXTURE_LABELS);
    assert.deepEqual(got.pixels, fixturePixels(3));
  });

  it('agrees with a naive string parse of the same file', async () => {
    const text = await threeRows();
    const rows = text.trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const got = await collect([localFile(join(FIXTURES, 'three-rows.csv'))]);
    assert.deepEqual([...got.labels], rows.map((row) => row[0]));
    assert.deepEqual([...got.pixels], rows.flatMap((row) => row.slice(1)));
  });

  it('accepts a UTF-8 BOM, CRLF line endings and no final newline', async () => {
    const raw = await readFile(join(FIXTURES, 'three-rows-bom-crlf.csv'));
    assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'fixture starts with a BOM');
    assert.ok(raw.includes('\r\n') && !raw.subarray(-2).includes('\n'), 'fixture is CRLF without a final newline');
    const got = await collect([localFile(join(FIXTURES, 'three-rows-bom-crlf.csv'))]);
    assert.deepEqual([...got.labels], FIXTURE_LABELS);
    assert.deepEqual(got.pixels, fixturePixels(3));
  });

  it('accepts trailing blank lines, LF or CRLF', async () => {
    const text = (await threeRows()) + '\n\r\n\n';
    const got = await collect([memoryFile('trailing.csv', text)]);
    assert.deepEqual([...got.labels], FIXTURE_LABELS);
    assert.deepEqual(got.pixels, fixturePixels(3));
  });

  it('gives the same examples whatever the chunk boundaries (even a BOM or CRLF split in two)', async () => {
    const crlf = await readFile(join(FIXTURES, 'three-rows-bom-crlf.csv'));
    for (const chunkSize of [1, 2, 3, 5, 64, 1000, 5000]) {
      const got = await collect([memoryFile('chunked.csv', crlf, chunkSize)]);
      assert.deepEqual([...got.labels], FIXTURE_LABELS, `chunk size ${chunkSize}`);
      assert.deepEqual(got.pixels, fixturePixels(3), `chunk size ${chunkSize}`);
    }
  });

  it('accepts leading zeros, which are still integers 0..255', async () => {
    const fields = rowFields(3);
    fields[1] = '007';
    fields[2] = '0255';
    fields[3] = '00';
    fields[0] = '03';
    const got = await collect([memoryFile('zeros.csv', csv([fields]))]);
    assert.deepEqual([...got.labels], [3]);
    assert.deepEqual([...got.pixels.subarray(0, 4)], [7, 255, 0, 7]);
  });

  it('emits batches of the requested size, the last one smaller', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => rowFields(i % 10, i));
    const sizes: number[] = [];
    for await (const batch of readExamples([memoryFile('seven.csv', csv(rows))], { batchSize: 3 })) sizes.push(batch.count);
    assert.deepEqual(sizes, [3, 3, 1]);
  });

  it('concatenates several files in the order given', async () => {
    const a = memoryFile('a.csv', csv([rowFields(1, 10)]));
    const b = memoryFile('b.csv', csv([rowFields(2, 20), rowFields(3, 30)]));
    const got = await collect([b, a]);
    assert.deepEqual([...got.labels], [2, 3, 1]);
    assert.deepEqual([got.pixels[0], got.pixels[PIXELS_PER_IMAGE], got.pixels[2 * PIXELS_PER_IMAGE]], [20, 30, 10]);
  });
});

describe('CSV reader: rejected input names file, line and column', () => {
  it('formats the message as "file, line L, column C (name): reason"', async () => {
    const fields = rowFields(1);
    fields[17] = '12.5';
    const error = await assertRejects(readAll(csv([rowFields(0), fields])), {
      file: 'bad.csv',
      line: 3,
      column: '18 (pixel17)',
      reason: /"12\.5" is not an integer/,
    });
    assert.equal(error.message, 'bad.csv, line 3, column 18 (pixel17): "12.5" is not an integer pixel value 0..255');
  });

  const badPixels: [string, RegExp][] = [
    ['12.5', /not an integer/],
    ['abc', /"abc" is not an integer/],
    [' 7', /" 7" is not an integer/],
    ['7 ', /"7 " is not an integer/],
    ['+5', /not an integer/],
    ['1e2', /not an integer/],
    ['"7"', /not an integer/],
    ['-1', /-1 is out of range 0\.\.255/],
    ['256', /256 is out of range 0\.\.255/],
    ['99999999999999999999', /out of range 0\.\.255/],
    ['', /empty field/],
  ];
  for (const [value, reason] of badPixels) {
    it(`rejects pixel value ${JSON.stringify(value)}`, async () => {
      const fields = rowFields(5);
      fields[500] = value;
      await assertRejects(readAll(csv([rowFields(0), rowFields(1), fields])), { file: 'bad.csv', line: 4, column: '501 (pixel500)', reason });
    });
  }

  it('rejects a bad value in the last column', async () => {
    const fields = rowFields(5);
    fields[784] = '300';
    await assertRejects(readAll(csv([fields])), { file: 'bad.csv', line: 2, column: '785 (pixel784)', reason: /300 is out of range/ });
  });

  for (const [label, reason] of [
    ['10', /label 10 is out of range 0\.\.9/],
    ['-1', /label -1 is out of range/],
    ['x', /"x" is not an integer label/],
    ['', /empty field, expected a label/],
  ] as const) {
    it(`rejects label ${JSON.stringify(label)}`, async () => {
      const fields = rowFields(0);
      fields[0] = label;
      await assertRejects(readAll(csv([rowFields(0), fields])), { file: 'bad.csv', line: 3, column: '1 (label)', reason });
    });
  }

  it('rejects a row with too few fields, naming the first missing column', async () => {
    const short = rowFields(2).slice(0, 784);
    await assertRejects(readAll(csv([rowFields(0), short])), {
      file: 'bad.csv',
      line: 3,
      column: '785 (pixel784)',
      reason: /only 784 fields, expected 785/,
    });
  });

  it('rejects a row with too many fields, naming the first extra column', async () => {
    await assertRejects(readAll(csv([[...rowFields(2), '0']])), {
      file: 'bad.csv',
      line: 2,
      column: '786',
      reason: /786 fields, expected 785/,
    });
  });

  it('rejects a trailing comma as an empty extra field', async () => {
    await assertRejects(readAll(csv([[...rowFields(2), '']])), { file: 'bad.csv', line: 2, column: '786', reason: /extra field/ });
  });

  it('finds an error deep in a file read in small chunks', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => rowFields(i % 10, i));
    rows[36][600] = '2x';
    await assertRejects(readAll(csv(rows), 'deep.csv', 997), { file: 'deep.csv', line: 38, column: '601 (pixel600)', reason: /"2x"/ });
  });

  it('rejects an empty file', async () => {
    await assertRejects(readAll(''), { file: 'bad.csv', reason: /file is empty/ });
  });

  it('rejects a file holding only a byte-order mark', async () => {
    await assertRejects(readAll(Buffer.from([0xef, 0xbb, 0xbf])), { file: 'bad.csv', reason: /file is empty/ });
  });

  it('rejects a header without data rows, with or without a final newline', async () => {
    for (const text of [HEADER, `${HEADER}\n`, `${HEADER}\r\n\r\n`]) {
      await assertRejects(readAll(text), { file: 'bad.csv', line: 2, reason: /no data rows/ });
    }
  });

  it('rejects a misspelt header column, naming it', async () => {
    const header = HEADER.replace(',pixel17,', ',pixel_17,');
    await assertRejects(readAll(`${header}\n${csvLine(1, rowFields(1).slice(1))}\n`), {
      file: 'bad.csv',
      line: 1,
      column: '18 (pixel17)',
      reason: /should be "pixel17", found "pixel_17"/,
    });
  });

  it('rejects a header with a wrong first column', async () => {
    await assertRejects(readAll(`${HEADER.replace('label', 'Label')}\n`), { file: 'bad.csv', line: 1, column: '1 (label)', reason: /found "Label"/ });
  });

  it('rejects a header that is too short or too long', async () => {
    const short = HEADER.slice(0, HEADER.lastIndexOf(','));
    await assertRejects(readAll(`${short}\n`), { file: 'bad.csv', line: 1, column: '785 (pixel784)', reason: /stops after 784 columns/ });
    await assertRejects(readAll(`${HEADER},extra\n`), { file: 'bad.csv', line: 1, column: '786', reason: /extra column "extra"/ });
  });

  it('rejects a file with no header (data on line 1)', async () => {
    await assertRejects(readAll(`${rowFields(1).join(',')}\n`), { file: 'bad.csv', line: 1, column: '1 (label)', reason: /found "1"/ });
  });

  it('rejects a blank line followed by more data, at the blank line', async () => {
    const text = [HEADER, rowFields(1).join(','), '', rowFields(2).join(',')].join('\n');
    await assertRejects(readAll(text), { file: 'bad.csv', line: 3, reason: /blank line between data rows/ });
    const crlf = [HEADER, '\r', '\r', rowFields(2).join(','), ''].join('\n');
    await assertRejects(readAll(crlf), { file: 'bad.csv', line: 2, reason: /blank line between data rows/ });
  });

  it('rejects a PNG passed as CSV at line 1', async () => {
    const png = join(FIXTURES, 'not-a-csv.png');
    await assertRejects(readAll(await readFile(png), png), { file: png, line: 1, reason: /binary data/ });
  });

  it('rejects random bytes at line 1', async () => {
    let state = 12345;
    const bytes = Uint8Array.from({ length: 5000 }, () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24);
    bytes[0] = 0x41; // not 0x00 (IDX) nor 0x1f (gzip): this must reach the CSV reader
    await assertRejects(readAll(bytes, 'noise.bin.csv'), { file: 'noise.bin.csv', line: 1, reason: /binary data/ });
  });

  it('rejects a line that never ends instead of buffering it', async () => {
    const endless = `${HEADER}\n${'1'.repeat(200_000)}`;
    await assertRejects(readAll(endless, 'bad.csv', 4096), { file: 'bad.csv', line: 2, reason: /longer than 65536 bytes/ });
  });
});
