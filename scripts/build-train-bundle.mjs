#!/usr/bin/env node
// Builds what the training image runs (functions/train/Dockerfile; the contract is TRAIN_IMAGE in
// lib/infra/training.ts). Plain Node + esbuild: no TypeScript, nothing from lib/infra (the image's
// build context leaves lib/infra out).
//
//   node scripts/build-train-bundle.mjs --outdir DIR
//       Bundles functions/train/handler.ts and functions/train/fargate.ts into DIR/handler.mjs and
//       DIR/fargate.mjs (ESM, Node 22), plus DIR/selfcheck.mjs (see SELFCHECK below). Every
//       @tensorflow/* import stays external: tfjs-node registers its backend on the
//       @tensorflow/tfjs-core it require()s from node_modules, so the bundle must use that same
//       copy, not one of its own. Fails if the bundles import any other package that is not
//       bundled (only RUNTIME_PACKAGES are installed in the image) or pull in @napi-rs/canvas.
//
//   node scripts/build-train-bundle.mjs --prune DIR [--strip | --link] [--from NODE_MODULES]
//       Writes the image's node_modules into DIR (must not exist or be empty): RUNTIME_PACKAGES
//       and their dependency closure (dependencies + optionalDependencies + installed peers),
//       slimmed: no source maps, TypeScript, type-only packages, docs; tfjs packages reduced to
//       their Node entry file (+ the wasm binaries); tfjs-node reduced to dist/, the addon and the
//       two TensorFlow libraries in deps/lib (no headers, no binding sources, no dev symlinks,
//       no python/, no build/). Checks every require() of the slimmed files still resolves.
//         --strip  strip --strip-unneeded the TensorFlow libraries (only on fresh copies)
//         --link   hard-link files instead of copying them (tests; cannot be combined with --strip,
//                  which would rewrite the shared inode, i.e. the setup script's cache)
//         --from   the node_modules to take packages from (default: <repo>/node_modules)
//
//   --json   print a summary (files, bytes per package, library sizes) as JSON on stdout.
// Both modes can be given at once.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

/** Installed in the image's node_modules (with their dependencies); everything else is bundled. */
export const RUNTIME_PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm'];
/** esbuild externals: all of @tensorflow, so there is one tfjs-core (the one tfjs-node uses). */
const EXTERNAL = ['@tensorflow/*'];
/** Must never be reached from the training entries (not in the image; the report path needs it). */
const FORBIDDEN = ['@napi-rs/canvas'];
const ENTRIES = { handler: 'functions/train/handler.ts', fargate: 'functions/train/fargate.ts' };

/**
 * CommonJS code inside the ESM bundle (the SDK's dependencies) expects `require`, `__filename` and
 * `__dirname`: define them as globals (not top-level bindings, which could collide with a bundled
 * module's own). Same banner as the zip Lambdas (lib/infra/node-function.ts, not importable here).
 */
const ESM_BANNER = [
  "import{createRequire as __fmnistRequire}from'node:module';",
  "import{fileURLToPath as __fmnistPath}from'node:url';",
  "import{dirname as __fmnistDir}from'node:path';",
  'globalThis.require??=__fmnistRequire(import.meta.url);',
  'globalThis.__filename??=__fmnistPath(import.meta.url);',
  'globalThis.__dirname??=__fmnistDir(globalThis.__filename);',
].join('');

/**
 * selfcheck.mjs, bundled next to the entries and run by the image build (`node
 * functions/train/selfcheck.mjs` in /var/task): the two entries import and export what the
 * contract says; the project's own initBackend gets the native backend (an explicit 'tensorflow',
 * so it throws instead of falling back) and its trainModel trains the default CNN for one step
 * there, as one TensorFlow graph (trainStep 'graph': no silent fallback to op by op); then
 * one step on the wasm fallback. Exit 1 with the reason on any failure.
 */
const SELFCHECK = `
import { initBackend } from './lib/model/backend.ts';
import { DEFAULT_TRAIN_CONFIG } from './lib/model/config.ts';
import { trainModel } from './lib/model/train.ts';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const t0 = Date.now();
const sibling = (file) => new URL('./' + file, import.meta.url).href;

/** The addon and the TensorFlow libraries this process mapped: all from the tfjs-node beside the bundles. */
function nativeFilesLoaded(tfjsNodeDir) {
  if (!existsSync('/proc/self/maps')) return undefined;
  const files = new Set();
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\\n')) {
    const file = line.split(/\\s+/).slice(5).join(' ');
    if (/libtensorflow|tfjs_binding/.test(file)) files.add(file);
  }
  const outside = [...files].filter((f) => !f.startsWith(tfjsNodeDir + '/'));
  if (outside.length) throw new Error('native files loaded from outside ' + tfjsNodeDir + ': ' + outside.join(', '));
  if (![...files].some((f) => f.includes('libtensorflow_cc')) || ![...files].some((f) => f.includes('libtensorflow_framework'))) {
    throw new Error('the TensorFlow libraries are not mapped: ' + [...files].join(', '));
  }
  return [...files].sort();
}

/** One batch of 8 made-up images through the project's trainModel on the backend selected. */
async function trainOneStep(backend, trainStep) {
  const count = 8;
  const images = Uint8Array.from({ length: count * 784 }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i);
  const config = { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: count, validationSplit: 0, backend };
  const result = await trainModel({ images, labels, count }, config, { trainStep });
  result.model.dispose();
  const loss = result.history[0].loss;
  if (!Number.isFinite(loss)) throw new Error('one training step gave loss ' + loss + ' on ' + result.backend.name);
  return { loss, trainingStep: result.backend.trainingStep };
}

try {
  const lambdaEntry = await import(sibling('handler.mjs'));
  if (typeof lambdaEntry.handler !== 'function') throw new Error('handler.mjs does not export a function "handler"');
  const fargateEntry = await import(sibling('fargate.mjs'));
  if (typeof fargateEntry.runFargateTraining !== 'function') throw new Error('fargate.mjs does not export runFargateTraining');
  const tfjsNodeDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json'));
  const native = await initBackend('tensorflow');
  const nativeStep = await trainOneStep('tensorflow', 'graph');
  const loaded = nativeFilesLoaded(tfjsNodeDir);
  const wasm = await initBackend('wasm');
  const wasmStep = await trainOneStep('wasm', 'auto');
  console.log(JSON.stringify({ ok: true, native: { ...native, ...nativeStep, loaded }, wasm: { ...wasm, ...wasmStep },
    seconds: (Date.now() - t0) / 1000 }));
  process.exit(0);
} catch (error) {
  console.error('[selfcheck] FAILED: ' + (error && error.stack || error));
  process.exit(1);
}
`;

// ---- bundling ---------------------------------------------------------------------------------
const packageOf = (specifier) => {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
};
const isBuiltin = (specifier) => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]);

export async function bundle(outdir) {
  const esbuild = await import('esbuild');
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    external: EXTERNAL,
    banner: { js: ESM_BANNER },
    outExtension: { '.js': '.mjs' },
    // Readable stack traces in CloudWatch without source maps: not minified.
    minify: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  };
  fs.mkdirSync(outdir, { recursive: true });
  const entries = await esbuild.build({ ...common, entryPoints: ENTRIES, outdir });
  const check = await esbuild.build({
    ...common,
    stdin: { contents: SELFCHECK, resolveDir: ROOT, sourcefile: 'selfcheck.mjs', loader: 'js' },
    outfile: path.join(outdir, 'selfcheck.mjs'),
  });

  const problems = [];
  const externals = new Set();
  for (const result of [entries, check]) {
    for (const input of Object.keys(result.metafile.inputs)) {
      for (const name of FORBIDDEN) if (input.includes(`node_modules/${name}/`)) problems.push(`bundles ${name} (${input})`);
      if (/^lib\/(report|infra)\//.test(input)) problems.push(`pulls in ${input} (not part of training)`);
    }
    for (const output of Object.values(result.metafile.outputs)) {
      for (const imp of output.imports) if (imp.external) externals.add(imp.path);
    }
  }
  const packages = [...externals].filter((s) => !isBuiltin(s)).map(packageOf);
  for (const name of new Set(packages)) {
    if (!RUNTIME_PACKAGES.includes(name)) {
      problems.push(`imports ${name} at run time, but the image's node_modules only has ${RUNTIME_PACKAGES.join(', ')} ` +
        `(add it to RUNTIME_PACKAGES in scripts/build-train-bundle.mjs)`);
    }
  }
  if (problems.length) throw new Error(`train bundle: ${problems.join('; ')}`);

  const files = {};
  for (const name of [...Object.keys(ENTRIES), 'selfcheck']) {
    const file = path.join(outdir, `${name}.mjs`);
    files[`${name}.mjs`] = fs.statSync(file).size;
  }
  return { outdir, files, externals: [...new Set(packages)].sort() };
}

// ---- pruning --------------------------------------------------------------------------------------
const TYPE_ONLY = (name) => name.startsWith('@types/') || name === '@webgpu/types';
const LICENSE = /^(licen[cs]e|notice|copying)(\.|$)/i;

/** Files nobody runs, in any package. */
function genericKeep(rel) {
  const base = path.posix.basename(rel);
  if (/\.(map|ts|mts|cts)$/.test(base)) return false; // source maps, TypeScript sources and typings
  if (/\.(md|markdown)$/i.test(base) && !LICENSE.test(base)) return false;
  if (rel.split('/').includes('.github')) return false;
  return true;
}

/**
 * Per-package allowlists for the big ones. tfjs packages ship their Node build as one CommonJS file
 * (`main`, dist/tf-*.node.js); the rest of dist/ is browser bundles, ESM trees and miniprogram
 * builds. tfjs-node runs dist/, the addon and the two TensorFlow libraries.
 */
function slimRule(name, pkg) {
  if (name === '@tensorflow/tfjs-node') {
    return (rel) => rel === 'package.json' || LICENSE.test(rel)
      || (rel.startsWith('dist/') && rel.endsWith('.js') && !/(_test|run_tests)\.js$/.test(rel))
      || /^lib\/napi-v\d+\/[^/]+\.node$/.test(rel)
      || /^deps\/lib\/libtensorflow[^/]*\.so\.\d+$/.test(rel);
  }
  if (name.startsWith('@tensorflow/tfjs')) {
    const main = path.posix.normalize(pkg.main ?? 'index.js');
    return (rel) => rel === 'package.json' || LICENSE.test(rel) || rel === main
      || (name === '@tensorflow/tfjs-backend-wasm' && /^dist\/[^/]+\.(wasm|worker\.js)$/.test(rel));
  }
  return null;
}

function findPackage(name, fromDir, rootDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === rootDir || dir === path.dirname(dir)) return null;
  }
}

function walk(dir, rel = '', out = []) {
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (!rel && entry.name === 'node_modules') continue; // nested dependencies are packages of their own
    if (entry.isDirectory()) walk(dir, r, out);
    else out.push({ rel: r, symlink: entry.isSymbolicLink() });
  }
  return out;
}

/** Relative and bare require('…') string literals of the kept JS files of slimmed packages must resolve. */
function checkRequires(outNm, slimmed, closure) {
  const problems = [];
  for (const { name, dest, files } of slimmed) {
    for (const rel of files.filter((f) => /\.(c?js)$/.test(f))) {
      // Line comments and comment blocks' `*` lines quote require()s that never run (seedrandom's usage notes).
      const source = fs.readFileSync(path.join(dest, rel), 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\/?\*)/.test(l)).join('\n');
      for (const match of source.matchAll(/\brequire\(\s*(['"])([^'"]+)\1\s*\)/g)) {
        const spec = match[2];
        if (isBuiltin(spec)) continue;
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(path.join(dest, rel)), spec);
          const found = ['', '.js', '.json', '.node', '/index.js'].some((ext) => fs.existsSync(target + ext) && fs.statSync(target + ext).isFile());
          if (!found) problems.push(`${name}/${rel}: require('${spec}') no longer resolves`);
        } else {
          const dep = packageOf(spec);
          if (!closure.has(dep)) problems.push(`${name}/${rel}: require('${spec}'): ${dep} is not in the runtime closure`);
          else if (spec !== dep && !['', '.js', '.json'].some((ext) => fs.existsSync(path.join(outNm, spec) + ext))) {
            problems.push(`${name}/${rel}: require('${spec}') points at a file the pruning dropped`);
          }
        }
      }
    }
  }
  return problems;
}

export function prune(outNm, { from = path.join(ROOT, 'node_modules'), link = false, strip = false } = {}) {
  if (link && strip) throw new Error('--strip rewrites files in place: it cannot be combined with --link');
  const srcNm = path.resolve(from);
  const rootDir = path.dirname(srcNm);
  outNm = path.resolve(outNm);
  if (fs.existsSync(outNm) && fs.readdirSync(outNm).length) throw new Error(`${outNm} exists and is not empty`);
  fs.mkdirSync(outNm, { recursive: true });

  // 1. the closure, by directory (a nested copy of a package is a separate entry)
  const byDir = new Map();
  const queue = [];
  const add = (name, dir) => {
    if (TYPE_ONLY(name) || byDir.has(dir)) return;
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    byDir.set(dir, { name, pkg });
    queue.push(dir);
  };
  for (const name of RUNTIME_PACKAGES) {
    const dir = findPackage(name, rootDir, rootDir);
    if (!dir) throw new Error(`${name} is not installed in ${srcNm}`);
    add(name, dir);
  }
  while (queue.length) {
    const dir = queue.shift();
    const { name, pkg } = byDir.get(dir);
    const optional = new Set([...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    for (const dep of new Set([...Object.keys(pkg.dependencies ?? {}), ...optional])) {
      const depDir = findPackage(dep, dir, rootDir);
      if (depDir) add(dep, depDir);
      else if (!optional.has(dep) && !TYPE_ONLY(dep)) throw new Error(`${name} depends on ${dep}, which is not installed`);
    }
  }

  // 2. copy (or link) the kept files
  const summary = { packages: {}, files: 0, bytes: 0, libraries: {} };
  const slimmed = [];
  for (const [dir, { name, pkg }] of byDir) {
    const relDir = path.relative(srcNm, dir);
    const dest = path.join(outNm, relDir);
    const rule = slimRule(name, pkg);
    const kept = [];
    let bytes = 0;
    for (const { rel, symlink } of walk(dir)) {
      if (!genericKeep(rel) || (rule && !rule(rel))) continue;
      let src = path.join(dir, rel);
      const to = path.join(dest, rel);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      if (symlink) {
        const target = fs.readlinkSync(src);
        const real = fs.realpathSync(src);
        if (!path.relative(fs.realpathSync(dir), real).startsWith('..')) {
          fs.symlinkSync(target, to); // stays inside the package: keep it a link
          kept.push(rel);
          continue;
        }
        // Out of the package (the setup script symlinks deps/lib into its cache when a hard link
        // is impossible): the image gets the file itself.
        if (!fs.statSync(real).isFile()) throw new Error(`${name}/${rel} links out of the package to a directory (${real})`);
        src = real;
      }
      let linked = false;
      if (link) {
        try { fs.linkSync(src, to); linked = true; } catch { /* other filesystem: copy */ }
      }
      if (!linked) {
        fs.copyFileSync(src, to);
        const mode = fs.statSync(to).mode;
        if ((mode & 0o444) !== 0o444) fs.chmodSync(to, mode | 0o444); // Lambda runs as a non-root user
      }
      bytes += fs.statSync(to).size;
      kept.push(rel);
    }
    if (rule) slimmed.push({ name, dest, files: kept });
    summary.packages[relDir] = { version: pkg.version, files: kept.length, bytes };
  }

  // 3. the TensorFlow libraries: strip (on copies only), measure
  const tfjsNode = path.join(outNm, '@tensorflow', 'tfjs-node');
  const libDir = path.join(tfjsNode, 'deps', 'lib');
  const libs = fs.existsSync(libDir) ? fs.readdirSync(libDir).filter((f) => /\.so\.\d+$/.test(f)) : [];
  if (!libs.length) throw new Error(`no TensorFlow libraries in ${libDir}: run scripts/native/setup-tfjs-node.mjs first`);
  const addons = fs.readdirSync(path.join(tfjsNode, 'lib'), { recursive: true }).filter((f) => String(f).endsWith('.node'));
  if (!addons.length) throw new Error(`no tfjs-node addon under ${path.join(tfjsNode, 'lib')}: run scripts/native/setup-tfjs-node.mjs first`);
  for (const lib of libs) {
    const file = path.join(libDir, lib);
    const before = fs.statSync(file).size;
    if (strip) {
      if (fs.statSync(file).nlink !== 1) throw new Error(`refusing to strip ${file}: it has other hard links`);
      const r = spawnSync('strip', ['--strip-unneeded', file], { encoding: 'utf8' });
      if (r.error || r.status !== 0) throw new Error(`strip ${lib} failed: ${r.error?.message ?? r.stderr}`);
    }
    const after = fs.statSync(file).size;
    summary.libraries[lib] = { bytes: before, ...(strip ? { stripped: after } : {}) };
    summary.packages['@tensorflow/tfjs-node'].bytes += after - before;
  }

  // 4. what the slimmed packages require must still be there
  const problems = checkRequires(outNm, slimmed, new Set([...byDir.values()].map((p) => p.name)));
  if (problems.length) throw new Error(`pruned node_modules is incomplete:\n  ${problems.join('\n  ')}`);

  for (const p of Object.values(summary.packages)) { summary.files += p.files; summary.bytes += p.bytes; }
  summary.outdir = outNm;
  summary.count = byDir.size;
  return summary;
}

// ---- CLI ----------------------------------------------------------------------------------------
function parseArgs(argv) {
  const opts = { json: false, link: false, strip: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--outdir') opts.outdir = value();
    else if (a === '--prune') opts.prune = value();
    else if (a === '--from') opts.from = value();
    else if (a === '--link') opts.link = true;
    else if (a === '--strip') opts.strip = true;
    else if (a === '--json') opts.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.outdir && !opts.prune) throw new Error('nothing to do: give --outdir DIR and/or --prune DIR');
  return opts;
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const result = {};
  if (opts.prune) {
    const s = prune(opts.prune, opts);
    result.prune = s;
    const libs = Object.entries(s.libraries)
      .map(([l, v]) => `${l} ${mb(v.bytes)}${v.stripped !== undefined ? ` -> ${mb(v.stripped)} stripped` : ''}`).join(', ');
    console.error(`[train-bundle] node_modules: ${s.count} packages, ${s.files} files, ${mb(s.bytes)} -> ${s.outdir} (${libs})`);
  }
  if (opts.outdir) {
    const b = await bundle(path.resolve(opts.outdir));
    result.bundle = b;
    console.error(`[train-bundle] bundles: ${Object.entries(b.files).map(([f, n]) => `${f} ${mb(n)}`).join(', ')} -> ${b.outdir}` +
      ` (run-time packages: ${b.externals.join(', ')})`);
  }
  if (opts.json) console.log(JSON.stringify(result, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`[train-bundle] ERROR: ${error.message}`);
    process.exit(1);
  });
}
