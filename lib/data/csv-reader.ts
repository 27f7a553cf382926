import { BatchBuilder, DEFAULT_BATCH_SIZE, type ExampleBatch } from './batch.ts';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from './classes.ts';
import { CSV_COLUMNS, CSV_FIELDS_PER_ROW, CSV_HEADER, columnLabel } from './csv-columns.ts';
import { DataValidationError } from '../errors.ts';

/*
 * Kaggle-format CSV reader, hand-written at the byte level on purpose. Generic CSV libraries build
 * a string (or several) per field and per row: ~47 million short-lived strings for the 60,000-row
 * training file, which is where their time goes. They also lose the exact line and column we must
 * report. Here each line is found with Buffer#indexOf (memchr) and its fields are parsed as digits
 * straight from the bytes into the batch's pixel array: no allocation per row or field. Only when a
 * row fails the fast path is it re-read slowly, as text, to explain exactly what is wrong.
 *
 * Memory is bounded by the batch plus one partial line carried between chunks (capped).
 */

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const DIGIT_0 = 0x30;
/** Every line handed to the parser is followed by a line break in its buffer (see `parseRow`). */
const LF_BYTE = Buffer.from([LF]);
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const HEADER_BYTES = Buffer.from(CSV_HEADER, 'latin1');
const MAX_PIXEL = 255;
const MAX_LABEL = NUM_CLASSES - 1;

/** A valid row is at most ~3 KiB; a line this long means the input is not the CSV we expect. */
export const MAX_LINE_BYTES = 64 * 1024;

export async function* readCsvExamples(
  name: string,
  chunks: AsyncIterable<Buffer>,
  batchSize = DEFAULT_BATCH_SIZE,
): AsyncGenerator<ExampleBatch> {
  const batch = new BatchBuilder(batchSize);
  let lineNumber = 0;
  let sawAnyByte = false;
  let sawHeader = false;
  let rows = 0;
  /** First line of the current run of blank lines: fine at the end of the file, an error before more data. */
  let blankSince = 0;
  /** The start of a line whose end is in a later chunk. */
  let carry: Buffer | undefined;

  const handleLine = (buf: Buffer, start: number, end: number): void => {
    lineNumber++;
    if (end > start && buf[end - 1] === CR) end--;
    if (!sawHeader) {
      checkHeader(name, buf.subarray(start, end));
      sawHeader = true;
      return;
    }
    if (end === start) {
      blankSince ||= lineNumber;
      return;
    }
    if (blankSince) {
      throw new DataValidationError(name, 'blank line between data rows (blank lines are only allowed at the end of the file)', blankSince);
    }
    if (
      !parseRow(buf, start, end, batch.labels, batch.pixels, batch.count) &&
      !parseRowAnyShape(buf, start, end, batch.labels, batch.pixels, batch.count)
    ) {
      throw explainBadRow(name, buf.subarray(start, end), lineNumber);
    }
    batch.count++;
    rows++;
  };

  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    // The header line alone can look like text (a PNG's is "\x89PNG"), so judge the file's start.
    if (!sawAnyByte && looksBinary(chunk)) throw binaryInput(name);
    sawAnyByte = true;
    let pos = 0;
    if (carry) {
      const newline = chunk.indexOf(LF);
      if (newline < 0) {
        carry = extendCarry(name, carry, chunk, lineNumber + 1);
        continue;
      }
      const line = extendCarry(name, carry, chunk.subarray(0, newline + 1), lineNumber + 1);
      carry = undefined;
      handleLine(line, 0, line.length - 1);
      if (batch.full) yield batch.take();
      pos = newline + 1;
    }
    for (;;) {
      const newline = chunk.indexOf(LF, pos);
      if (newline < 0) break;
      handleLine(chunk, pos, newline);
      if (batch.full) yield batch.take();
      pos = newline + 1;
    }
    // Copy so the (large) chunk can be freed; the tail is at most one line.
    if (pos < chunk.length) carry = extendCarry(name, Buffer.alloc(0), chunk.subarray(pos), lineNumber + 1);
  }
  // A last line without a final newline (unless the whole file is just a byte-order mark).
  if (carry && !(lineNumber === 0 && UTF8_BOM.equals(carry))) {
    const line = Buffer.concat([carry, LF_BYTE]);
    handleLine(line, 0, carry.length);
  }

  if (!sawHeader) throw new DataValidationError(name, 'file is empty');
  if (rows === 0) throw new DataValidationError(name, 'no data rows after the header', 2);
  if (batch.count > 0) yield batch.take();
}

function extendCarry(name: string, carry: Buffer, more: Buffer, lineNumber: number): Buffer {
  if (carry.length + more.length > MAX_LINE_BYTES) {
    const start = carry.length > 0 ? carry : more;
    if (lineNumber === 1 && looksBinary(start)) throw binaryInput(name);
    throw new DataValidationError(
      name,
      `line is longer than ${MAX_LINE_BYTES} bytes without a line break: not a CSV of label,pixel1..pixel784 rows`,
      lineNumber,
    );
  }
  return Buffer.concat([carry, more]);
}

/**
 * The hot path, shaped for the common case: a one-digit label, then 784 values of one to three
 * digits. Reads may look one byte past `end`: there is always a CR or LF there (`LF_BYTE` is appended where needed),
 * which stops digit runs without a bounds test per byte. Anything unusual (leading zeros, a bad
 * field) returns false, and the row goes to `parseRowAnyShape`.
 */
function parseRow(buf: Buffer, start: number, end: number, labels: Uint8Array, pixels: Uint8Array, index: number): boolean {
  let pos = start;
  const label = buf[pos] - DIGIT_0;
  if (label >>> 0 > MAX_LABEL || buf[pos + 1] !== COMMA) return false;
  pos += 2;
  let out = index * PIXELS_PER_IMAGE;
  const stop = out + PIXELS_PER_IMAGE;
  while (out < stop) {
    let value = buf[pos++] - DIGIT_0;
    if (value >>> 0 > 9) return false;
    let digit = buf[pos] - DIGIT_0;
    if (digit >>> 0 <= 9) {
      value = value * 10 + digit;
      digit = buf[++pos] - DIGIT_0;
      if (digit >>> 0 <= 9) {
        value = value * 10 + digit;
        if (value > MAX_PIXEL || (buf[++pos] - DIGIT_0) >>> 0 <= 9) return false;
      }
    }
    pixels[out++] = value;
    if (out === stop || buf[pos] !== COMMA) break;
    pos++;
  }
  if (out !== stop || pos !== end) return false;
  labels[index] = label;
  return true;
}

/** Any valid row, leading zeros included. False means the row is invalid. */
function parseRowAnyShape(buf: Buffer, start: number, end: number, labels: Uint8Array, pixels: Uint8Array, index: number): boolean {
  let pos = start;
  // Field 0 is the label, fields 1..784 land at pixels[base + field].
  const base = index * PIXELS_PER_IMAGE - 1;
  for (let field = 0; field < CSV_FIELDS_PER_ROW; field++) {
    const fieldStart = pos;
    let value = 0;
    while (pos < end) {
      const digit = buf[pos] - DIGIT_0;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
      pos++;
    }
    if (pos === fieldStart || value > MAX_PIXEL) return false;
    if (field === 0) {
      if (value > MAX_LABEL) return false;
      labels[index] = value;
    } else {
      pixels[base + field] = value;
    }
    if (field < CSV_FIELDS_PER_ROW - 1) {
      if (pos >= end || buf[pos] !== COMMA) return false;
      pos++;
    }
  }
  return pos === end;
}

/** The slow path, run once for a rejected row: finds the first wrong field, left to right. */
function explainBadRow(name: string, line: Buffer, lineNumber: number): DataValidationError {
  const fields = line.toString('latin1').split(',');
  const checked = Math.min(fields.length, CSV_FIELDS_PER_ROW);
  for (let index = 0; index < checked; index++) {
    const problem = fieldProblem(fields[index], index);
    if (problem) return new DataValidationError(name, problem, lineNumber, columnLabel(index));
  }
  const expected = `expected ${CSV_FIELDS_PER_ROW} (label and ${PIXELS_PER_IMAGE} pixels)`;
  if (fields.length < CSV_FIELDS_PER_ROW) {
    return new DataValidationError(name, `missing field: the row has only ${fields.length} fields, ${expected}`, lineNumber, columnLabel(fields.length));
  }
  if (fields.length > CSV_FIELDS_PER_ROW) {
    return new DataValidationError(name, `extra field: the row has ${fields.length} fields, ${expected}`, lineNumber, columnLabel(CSV_FIELDS_PER_ROW));
  }
  // Only reachable if the two paths disagree, which would be a bug here rather than in the data.
  return new DataValidationError(name, 'malformed row', lineNumber);
}

function fieldProblem(text: string, index: number): string | undefined {
  const what = index === 0 ? 'label' : 'pixel value';
  const range = index === 0 ? `0..${MAX_LABEL}` : `0..${MAX_PIXEL}`;
  if (text === '') return `empty field, expected a ${what} ${range}`;
  if (!/^-?[0-9]+$/.test(text)) return `${quote(text)} is not an integer ${what} ${range}`;
  const value = Number(text);
  if (text.startsWith('-') || value > (index === 0 ? MAX_LABEL : MAX_PIXEL)) return `${what} ${text} is out of range ${range}`;
  return undefined;
}

function checkHeader(name: string, line: Buffer): void {
  if (line.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) line = line.subarray(UTF8_BOM.length);
  if (line.equals(HEADER_BYTES)) return;
  if (looksBinary(line)) throw binaryInput(name);
  const expectation = 'expected the header label,pixel1,...,pixel784';
  if (line.length === 0) throw new DataValidationError(name, `${expectation}, found a blank line`, 1);
  const names = line.toString('utf8').split(',');
  const checked = Math.min(names.length, CSV_COLUMNS.length);
  for (let index = 0; index < checked; index++) {
    if (names[index] !== CSV_COLUMNS[index]) {
      throw new DataValidationError(name, `${expectation}: column should be "${CSV_COLUMNS[index]}", found ${quote(names[index])}`, 1, columnLabel(index));
    }
  }
  if (names.length < CSV_COLUMNS.length) {
    throw new DataValidationError(name, `${expectation}: the header stops after ${names.length} columns`, 1, columnLabel(names.length));
  }
  throw new DataValidationError(name, `${expectation}: unexpected extra column ${quote(names[CSV_COLUMNS.length])}`, 1, columnLabel(CSV_COLUMNS.length));
}

/** Text files do not contain NUL or the other C0 control characters (tab, CR and LF aside). */
function looksBinary(bytes: Buffer): boolean {
  const end = Math.min(bytes.length, 4096);
  for (let i = 0; i < end; i++) {
    const byte = bytes[i];
    if ((byte < 0x20 && byte !== 0x09 && byte !== CR && byte !== LF) || byte === 0x7f) return true;
  }
  return false;
}

function binaryInput(name: string): DataValidationError {
  return new DataValidationError(name, 'binary data: neither a CSV (label,pixel1,...,pixel784) nor an IDX file', 1);
}

/** Shows a field in a message: quoted, escaped, and cut short if long. */
function quote(text: string): string {
  return JSON.stringify(text.length > 24 ? `${text.slice(0, 24)}...` : text);
}
