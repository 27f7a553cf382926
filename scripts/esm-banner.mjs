// @ts-check
// The one ESM banner of every bundle this project makes: the zip Lambdas (infra/node-function.ts)
// and the training image (scripts/train-image/bundle.mjs). Plain JavaScript, so the image build
// can import it without TypeScript or infra/.

/**
 * CommonJS code inside an ESM bundle (tfjs' wasm backend, the SDK's dependencies) expects
 * `require`, `__filename` and `__dirname`: define them as globals (not top-level bindings, which
 * could collide with a bundled module's own).
 */
export const ESM_BANNER = [
  "import{createRequire as __fmnistRequire}from'node:module';",
  "import{fileURLToPath as __fmnistPath}from'node:url';",
  "import{dirname as __fmnistDir}from'node:path';",
  'globalThis.require??=__fmnistRequire(import.meta.url);',
  'globalThis.__filename??=__fmnistPath(import.meta.url);',
  'globalThis.__dirname??=__fmnistDir(globalThis.__filename);',
].join('');
