// Which cached tfjs-node addon builds scripts/native/setup-tfjs-node.mjs may reuse: only one
// built from the same inputs, including the Node.js version whose headers compiled it (CI runs
// npm ci under Node 20 and 22 against one shared cache).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonCacheName, readBindingSources, type AddonBuildInputs } from '../../scripts/native/addon-cache.mjs';

const base: AddonBuildInputs = {
  setupVersion: 1,
  tfjsNodeVersion: '4.22.0',
  napi: 8,
  wheelSha256: '2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c',
  nodeVersion: 'v20.20.2',
  platform: 'linux',
  arch: 'x64',
  sources: [['binding.gyp', Buffer.from('{ "targets": [] }')], ['binding/tfjs_binding.cc', Buffer.from('int x;')]],
};

describe('addon cache name', () => {
  test('equal inputs give the same name, whatever the order the sources are listed in', () => {
    assert.equal(addonCacheName(base), addonCacheName({ ...base, sources: [...base.sources].reverse() }));
  });

  test('a build under one Node.js version is not reused under another (same N-API version)', () => {
    const node20 = addonCacheName(base);
    const node22 = addonCacheName({ ...base, nodeVersion: 'v22.23.5' });
    assert.notEqual(node20, node22);
    assert.match(node20, /-node-v20\.20\.2-/);
    assert.match(node22, /-node-v22\.23\.5-/);
  });

  for (const [what, change] of [
    ['tfjs-node version', { tfjsNodeVersion: '4.22.1' }],
    ['N-API build version', { napi: 9 }],
    ['wheel', { wheelSha256: '0'.repeat(64) }],
    ['setup version', { setupVersion: 2 }],
    ['architecture', { arch: 'arm64' }],
    ['binding source content', { sources: [base.sources[0]!, ['binding/tfjs_binding.cc', Buffer.from('int y;')]] }],
    ['binding source name', { sources: [base.sources[0]!, ['binding/other.cc', Buffer.from('int x;')]] }],
    ['set of binding sources (one added)', { sources: [...base.sources, ['binding/extra.h', Buffer.from('')]] }],
  ] as const) {
    test(`another ${what} gives another name`, () => {
      assert.notEqual(addonCacheName({ ...base, ...change } as AddonBuildInputs), addonCacheName(base));
    });
  }

  test('readBindingSources reads binding.gyp and every file under binding/', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fmnist-addon-cache-'));
    try {
      await mkdir(join(dir, 'binding'));
      await writeFile(join(dir, 'binding.gyp'), 'gyp');
      await writeFile(join(dir, 'binding', 'a.cc'), 'a');
      await writeFile(join(dir, 'binding', 'b.h'), 'b');
      const read = readBindingSources(dir).map(([file, content]) => [file, content.toString()]).sort();
      assert.deepEqual(read, [['binding.gyp', 'gyp'], [join('binding', 'a.cc'), 'a'], [join('binding', 'b.h'), 'b']]);
      const before = addonCacheName({ ...base, sources: readBindingSources(dir) });
      await writeFile(join(dir, 'binding', 'b.h'), 'changed');
      assert.notEqual(addonCacheName({ ...base, sources: readBindingSources(dir) }), before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
