import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';
import {
  arrayOf,
  closest,
  describe as describeValue,
  fieldPath,
  formatIssues,
  integerIn,
  numberIn,
  oneOf,
  parseJsonWith,
  parseWith,
  positiveAtMost,
  strictObject,
} from '../lib/validation.ts';

/** The message parseWith throws for `value`, or a failure when it does not throw a ConfigError. */
function messageOf(schema: z.ZodType, value: unknown, source = 'config.json'): string {
  try {
    parseWith(schema, value, source);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`${JSON.stringify(value)} was accepted`);
}

const layer = strictObject({ type: oneOf(['conv2d', 'dense']), filters: integerIn(1, 1024), strides: integerIn(1, 8), padding: oneOf(['same', 'valid']).optional() });
const config = strictObject({ epochs: integerIn(1, 1000), learningRate: positiveAtMost(1), validationSplit: numberIn(0, 1, true), layers: arrayOf(layer) });
const good = { epochs: 3, learningRate: 0.001, validationSplit: 0.1, layers: [{ type: 'conv2d', filters: 4, strides: 1 }] };

describe('parseWith', () => {
  test('a valid value comes back parsed, unknown-free', () => {
    assert.deepEqual(parseWith(config, good, 'config.json'), good);
    assert.deepEqual(parseWith(config, { ...good, layers: [{ ...good.layers[0], padding: 'same' }] }, 'x').layers[0].padding, 'same');
  });

  test('the message starts with the source and names the field by path', () => {
    const message = messageOf(config, { ...good, layers: [good.layers[0], { type: 'dense', filters: 0, strides: 1 }] });
    assert.equal(message, 'config.json: layers[1].filters: must be an integer from 1 to 1024, got 0');
  });

  test('a typo in a key suggests the key meant and lists the allowed ones', () => {
    const message = messageOf(config, { ...good, layers: [{ type: 'conv2d', filters: 4, strid: 1 }] });
    assert.match(message, /^config\.json: .*layers\[0\]\.strid: unknown key \(did you mean "strides"\?\); allowed: type, filters, strides, padding/);
    // strides is then also missing: reported too, by its own path.
    assert.match(message, /layers\[0\]\.strides: must be an integer from 1 to 8, got nothing/);
  });

  test('a key close to nothing allowed gets no suggestion, only the allowed list', () => {
    const message = messageOf(config, { ...good, momentum: 0.9 });
    assert.match(message, /config\.json: momentum: unknown key; allowed: epochs, learningRate, validationSplit, layers$/);
  });

  test('ranges say what they allow and what they got', () => {
    assert.match(messageOf(config, { ...good, epochs: 2.5 }), /epochs: must be an integer from 1 to 1000, got 2\.5/);
    assert.match(messageOf(config, { ...good, epochs: '3' }), /epochs: must be an integer from 1 to 1000, got "3"/);
    assert.match(messageOf(config, { ...good, learningRate: 0 }), /learningRate: must be a number above 0 and at most 1, got 0/);
    assert.match(messageOf(config, { ...good, learningRate: 2 }), /learningRate: must be a number above 0 and at most 1, got 2/);
    assert.match(messageOf(config, { ...good, validationSplit: 1 }), /validationSplit: must be a number from 0 to 1 \(exclusive\), got 1/);
    assert.match(messageOf(config, { ...good, validationSplit: Number.NaN }), /validationSplit: must be a number from 0 to 1 \(exclusive\), got NaN/);
    assert.equal(parseWith(config, { ...good, validationSplit: 0 }, 'x').validationSplit, 0);
    assert.equal(parseWith(config, { ...good, epochs: 1000 }, 'x').epochs, 1000);
  });

  test('choices, arrays and objects say what they wanted and what they got', () => {
    assert.match(messageOf(config, { ...good, layers: [{ ...good.layers[0], padding: 'vaild' }] }), /layers\[0\]\.padding: must be one of "same", "valid", got "vaild"/);
    assert.match(messageOf(config, { ...good, layers: {} }), /layers: must be an array, got an object/);
    assert.match(messageOf(config, { ...good, layers: [null] }), /layers\[0\]: must be an object, got null/);
    assert.match(messageOf(config, [1]), /^config\.json: must be an object, got an array$/);
  });

  test('every problem is listed, separated by "; "', () => {
    const message = messageOf(config, { ...good, epochs: 0, learningRate: -1 });
    assert.equal(message.split('; ').length, 2, message);
  });
});

describe('parseJsonWith', () => {
  test('parses JSON text against the schema', () => {
    assert.deepEqual(parseJsonWith(config, JSON.stringify(good), 'config.json'), good);
  });

  test('bad JSON names the source and what the parser said', () => {
    assert.throws(() => parseJsonWith(config, '{"epochs": 3,', 's3://bucket/run.json'), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^s3:\/\/bucket\/run\.json: not valid JSON \(.+\)$/);
      return true;
    });
  });

  test('valid JSON with a bad field names the field', () => {
    assert.throws(() => parseJsonWith(config, JSON.stringify({ ...good, epochs: 0 }), 'c.json'), /^ConfigError: c\.json: epochs: must be an integer/);
  });
});

describe('the pieces', () => {
  test('fieldPath joins names with dots and indices with brackets', () => {
    assert.equal(fieldPath(['layers', 0, 'strides']), 'layers[0].strides');
    assert.equal(fieldPath([0, 'a']), '[0].a');
    assert.equal(fieldPath(['candidate', 'modelPrefix']), 'candidate.modelPrefix');
    assert.equal(fieldPath([]), '');
  });

  test('formatIssues puts an unknown key into its path', () => {
    const result = z.strictObject({ a: z.number() }).safeParse({ a: 1, b: 2 });
    assert.equal(result.success, false);
    assert.deepEqual(formatIssues(result.error!.issues).map((line) => line.split(':')[0]), ['b']);
  });

  test('closest suggests only a near spelling, case-insensitively', () => {
    assert.equal(closest('strid', ['filters', 'strides']), 'strides');
    assert.equal(closest('LearningRate', ['learningRate', 'epochs']), 'learningRate');
    assert.equal(closest('momentum', ['filters', 'strides']), undefined);
  });

  test('describe renders rejected values short and safe', () => {
    assert.equal(describeValue(undefined), 'nothing');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue([1]), 'an array');
    assert.equal(describeValue({}), 'an object');
    assert.equal(describeValue(3), '3');
    assert.equal(describeValue('x'.repeat(50)), JSON.stringify('x'.repeat(40) + '…'));
  });
});
