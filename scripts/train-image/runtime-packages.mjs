// @ts-check
// What the training image's node_modules holds: shared by bundle.mjs (nothing else may stay
// external) and prune.mjs (what it installs).
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Installed in the image's node_modules (with their dependencies); everything else is bundled. */
export const RUNTIME_PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm'];

/** The package a module specifier names: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
export function packageOf(/** @type {string} */ specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** `node:fs`, `fs`, `fs/promises`: Node's own modules. */
export function isBuiltin(/** @type {string} */ specifier) {
  return specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]);
}

/** `12.3 MB` */
export const mb = (/** @type {number} */ bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** True when this module file is the one `node` was started with. */
export function isMain(/** @type {string} */ moduleUrl) {
  return Boolean(process.argv[1]) && path.resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}
