#!/usr/bin/env node
// @ts-check
// Bundles what the training image runs (functions/train/Dockerfile; the contract is TRAIN_IMAGE in
// infra/training.ts). Plain Node + esbuild: no TypeScript at run time, nothing from infra (the
// image's build context leaves infra out).
//
//   node scripts/train-image/bundle.mjs --outdir DIR [--json]
//       functions/train/handler.ts, fargate.ts and selfcheck.ts -> DIR/handler.mjs, fargate.mjs,
//       selfcheck.mjs (ESM, Node 22). Every @tensorflow/* import stays external: tfjs-node
//       registers its backend on the @tensorflow/tfjs-core it require()s from node_modules, so the
//       bundle must use that same copy, not one of its own. Fails if the bundles import any other
//       package that is not bundled (only RUNTIME_PACKAGES are installed in the image, by
//       prune.mjs) or pull in @napi-rs/canvas, lib/report or infra.
//   --json   print the summary (bytes per file, the run-time packages) as JSON on stdout.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ESM_BANNER } from '../esm-banner.mjs';
import { isBuiltin, isMain, mb, packageOf, RUNTIME_PACKAGES } from './runtime-packages.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** esbuild externals: all of @tensorflow, so there is one tfjs-core (the one tfjs-node uses). */
const EXTERNAL = ['@tensorflow/*'];

/**
 * The @tensorflow packages are CommonJS. An ESM `import` of one makes Node run its CJS lexer over
 * the package and everything it re-exports (tfjs-core, -layers, -converter, -data, the backends)
 * to find named exports: ~0.35 s of a cold start (bench/README.md "Cold start"). So each import
 * of one becomes a small CommonJS module of the bundle, `module.exports = require('<package>')`,
 * through the banner's `require`: the same package loaded the same way tfjs-node loads it, no
 * lexer, and only when the code that imports it first runs (a lazily imported module keeps its
 * packages lazy, which a hoisted ESM import would not).
 * @type {import('esbuild').Plugin}
 */
const requireExternals = {
  name: 'require-externals',
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\// }, (args) =>
      args.namespace === 'require-external' ? { path: args.path, external: true } : { path: args.path, namespace: 'require-external' });
    build.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};
/** Must never be reached from the training entries (not in the image; the report path needs it). */
const FORBIDDEN = ['@napi-rs/canvas'];
/** selfcheck: run by the image build (`node functions/train/selfcheck.mjs`), see the file. */
export const ENTRIES = {
  handler: 'functions/train/handler.ts',
  fargate: 'functions/train/fargate.ts',
  selfcheck: 'functions/train/selfcheck.ts',
};

/**
 * @typedef {object} BundleSummary
 * @property {string} outdir
 * @property {Record<string, number>} files bytes per written file (`handler.mjs`, …)
 * @property {string[]} externals the packages the bundles import at run time, sorted
 */

/** @returns {Promise<BundleSummary>} */
export async function bundle(/** @type {string} */ outdir) {
  const esbuild = await import('esbuild');
  fs.mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: ENTRIES,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    external: EXTERNAL,
    plugins: [requireExternals],
    banner: { js: ESM_BANNER },
    outExtension: { '.js': '.mjs' },
    // Readable stack traces in CloudWatch without source maps: not minified.
    minify: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });

  const problems = [];
  for (const input of Object.keys(result.metafile.inputs)) {
    for (const name of FORBIDDEN) if (input.includes(`node_modules/${name}/`)) problems.push(`bundles ${name} (${input})`);
    if (/^(lib\/report|infra)\//.test(input)) problems.push(`pulls in ${input} (not part of training)`);
  }
  const externals = new Set(
    Object.values(result.metafile.outputs)
      .flatMap((output) => output.imports)
      .filter((imp) => imp.external && !isBuiltin(imp.path))
      .map((imp) => packageOf(imp.path)),
  );
  for (const name of externals) {
    if (!RUNTIME_PACKAGES.includes(name)) {
      problems.push(`imports ${name} at run time, but the image's node_modules only has ${RUNTIME_PACKAGES.join(', ')} ` +
        `(add it to RUNTIME_PACKAGES in scripts/train-image/runtime-packages.mjs)`);
    }
  }
  if (problems.length) throw new Error(`train bundle: ${problems.join('; ')}`);

  /** @type {Record<string, number>} */
  const files = {};
  for (const name of Object.keys(ENTRIES)) files[`${name}.mjs`] = fs.statSync(path.join(outdir, `${name}.mjs`)).size;
  return { outdir, files, externals: [...externals].sort() };
}

async function main() {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!values.outdir) throw new Error('give --outdir DIR');
  const summary = await bundle(path.resolve(values.outdir));
  console.error(`[train-image] bundles: ${Object.entries(summary.files).map(([f, n]) => `${f} ${mb(n)}`).join(', ')} -> ${summary.outdir}` +
    ` (run-time packages: ${summary.externals.join(', ')})`);
  if (values.json) console.log(JSON.stringify(summary, null, 2));
}

if (isMain(import.meta.url)) {
  main().catch((/** @type {Error} */ error) => {
    console.error(`[train-image] ERROR: ${error.message}`);
    process.exit(1);
  });
}
