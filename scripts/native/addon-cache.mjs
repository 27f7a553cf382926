// Which tfjs-node addon builds may be reused from the cache (scripts/native/setup-tfjs-node.mjs).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The cache directory name for an addon built from these inputs; a build is reused only when
 * every input is equal.
 *
 * The addon is N-API, so a binary built under one Node.js version usually loads under another;
 * but node-gyp compiles it against the running Node's own headers and build flags (common.gypi,
 * config.gypi), so a build is reused only under the Node version that made it (as the Docker
 * image on Node 22 builds its own). A Node update costs one rebuild (~13 s).
 *
 * @param {{ setupVersion: number, tfjsNodeVersion: string, napi: number, wheelSha256: string,
 *   nodeVersion: string, platform: string, arch: string,
 *   sources: Array<[string, Uint8Array | string]> }} inputs
 *   `sources`: the binding's build files as [path relative to the package, content].
 * @returns {string}
 */
export function addonCacheName(inputs) {
  const { setupVersion, tfjsNodeVersion, napi, wheelSha256, nodeVersion, platform, arch, sources } = inputs;
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: setupVersion, tfjsNode: tfjsNodeVersion, napi, pin: wheelSha256, node: nodeVersion, plat: platform, arch }));
  for (const [file, content] of [...sources].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // Length-prefixed so that moving bytes between a name and a content changes the key.
    h.update(`${file.length}:${file}`);
    h.update(`${content.length}:`);
    h.update(content);
  }
  return `addon-${platform}-${arch}-tfjs-node-${tfjsNodeVersion}-napi${napi}-node-${nodeVersion}-${h.digest('hex').slice(0, 16)}`;
}

/**
 * tfjs-node's build inputs: binding.gyp and every file under binding/.
 * @param {string} tfjsNodeDir
 * @returns {Array<[string, Buffer]>}
 */
export function readBindingSources(tfjsNodeDir) {
  const files = ['binding.gyp', ...fs.readdirSync(path.join(tfjsNodeDir, 'binding')).map((f) => path.join('binding', f))];
  return files.map((f) => [f, fs.readFileSync(path.join(tfjsNodeDir, f))]);
}
