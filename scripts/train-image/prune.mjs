#!/usr/bin/env node
// @ts-check
// Writes the training image's node_modules (functions/train/Dockerfile; the contract is
// TRAIN_IMAGE in infra/training.ts). Plain Node: it runs in the image build before TypeScript
// sources are copied in.
//
//   node scripts/train-image/prune.mjs --outdir DIR [--strip | --link] [--from NODE_MODULES] [--json]
//       DIR (must not exist or be empty) gets RUNTIME_PACKAGES and their dependency closure
//       (dependencies + optionalDependencies + installed peers), slimmed: no source maps,
//       TypeScript, type-only packages, docs; tfjs packages reduced to their Node entry file (+ the
//       wasm binaries); tfjs-node reduced to dist/, the addon and the two TensorFlow libraries in
//       deps/lib (no headers, no binding sources, no dev symlinks, no python/, no build/). Checks
//       every require() of the slimmed files still resolves.
//         --strip  strip --strip-unneeded the TensorFlow libraries (only on fresh copies)
//         --link   hard-link files instead of copying them (tests; cannot be combined with --strip,
//                  which would rewrite the shared inode, i.e. the setup script's cache)
//         --from   the node_modules to take packages from (default: <repo>/node_modules)
//         --json   print the summary (files, bytes per package, library sizes) as JSON on stdout

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isBuiltin, isMain, mb, packageOf, RUNTIME_PACKAGES } from './runtime-packages.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * @typedef {{ name?: string, version?: string, main?: string, dependencies?: Record<string, string>,
 *   optionalDependencies?: Record<string, string>, peerDependencies?: Record<string, string> }} PackageJson
 * @typedef {{ version: string | undefined, files: number, bytes: number }} PackageSummary
 * @typedef {object} PruneSummary
 * @property {string} outdir
 * @property {number} count packages
 * @property {number} files
 * @property {number} bytes
 * @property {Record<string, PackageSummary>} packages by path relative to node_modules
 * @property {Record<string, { bytes: number, stripped?: number }>} libraries the TensorFlow libraries
 * @typedef {{ name: string, dest: string, files: string[] }} SlimmedPackage
 */

const TYPE_ONLY = (/** @type {string} */ name) => name.startsWith('@types/') || name === '@webgpu/types';
const LICENSE = /^(licen[cs]e|notice|copying)(\.|$)/i;

/** Files nobody runs, in any package. */
function genericKeep(/** @type {string} */ rel) {
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
/** @returns {((rel: string) => boolean) | null} */
function slimRule(/** @type {string} */ name, /** @type {PackageJson} */ pkg) {
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

/** @returns {string | null} */
function findPackage(/** @type {string} */ name, /** @type {string} */ fromDir, /** @type {string} */ rootDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === rootDir || dir === path.dirname(dir)) return null;
  }
}

/** @returns {{ rel: string, symlink: boolean }[]} */
function walk(/** @type {string} */ dir, rel = '', /** @type {{ rel: string, symlink: boolean }[]} */ out = []) {
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (!rel && entry.name === 'node_modules') continue; // nested dependencies are packages of their own
    if (entry.isDirectory()) walk(dir, r, out);
    else out.push({ rel: r, symlink: entry.isSymbolicLink() });
  }
  return out;
}

/** Relative and bare require('…') string literals of the kept JS files of slimmed packages must resolve. */
function checkRequires(/** @type {string} */ outNm, /** @type {SlimmedPackage[]} */ slimmed, /** @type {Set<string>} */ closure) {
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

/**
 * @param {string} outNm
 * @param {{ from?: string, link?: boolean, strip?: boolean }} [options]
 * @returns {PruneSummary}
 */
export function prune(outNm, { from = path.join(ROOT, 'node_modules'), link = false, strip = false } = {}) {
  if (link && strip) throw new Error('--strip rewrites files in place: it cannot be combined with --link');
  const srcNm = path.resolve(from);
  const rootDir = path.dirname(srcNm);
  outNm = path.resolve(outNm);
  if (fs.existsSync(outNm) && fs.readdirSync(outNm).length) throw new Error(`${outNm} exists and is not empty`);
  fs.mkdirSync(outNm, { recursive: true });

  // 1. the closure, by directory (a nested copy of a package is a separate entry)
  /** @type {Map<string, { name: string, pkg: PackageJson }>} */
  const byDir = new Map();
  /** @type {string[]} */
  const queue = [];
  const add = (/** @type {string} */ name, /** @type {string} */ dir) => {
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
    const dir = /** @type {string} */ (queue.shift());
    const { name, pkg } = /** @type {{ name: string, pkg: PackageJson }} */ (byDir.get(dir));
    const optional = new Set([...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    for (const dep of new Set([...Object.keys(pkg.dependencies ?? {}), ...optional])) {
      const depDir = findPackage(dep, dir, rootDir);
      if (depDir) add(dep, depDir);
      else if (!optional.has(dep) && !TYPE_ONLY(dep)) throw new Error(`${name} depends on ${dep}, which is not installed`);
    }
  }

  // 2. copy (or link) the kept files
  /** @type {PruneSummary} */
  const summary = { outdir: outNm, count: 0, packages: {}, files: 0, bytes: 0, libraries: {} };
  /** @type {SlimmedPackage[]} */
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
  summary.count = byDir.size;
  return summary;
}


async function main() {
  const { values } = parseArgs({
    options: {
      outdir: { type: 'string' },
      from: { type: 'string' },
      link: { type: 'boolean', default: false },
      strip: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.outdir) throw new Error('give --outdir DIR');
  const summary = prune(values.outdir, values);
  const libs = Object.entries(summary.libraries)
    .map(([lib, v]) => `${lib} ${mb(v.bytes)}${v.stripped !== undefined ? ` -> ${mb(v.stripped)} stripped` : ''}`)
    .join(', ');
  console.error(`[train-image] node_modules: ${summary.count} packages, ${summary.files} files, ${mb(summary.bytes)} -> ${summary.outdir} (${libs})`);
  if (values.json) console.log(JSON.stringify(summary, null, 2));
}

if (isMain(import.meta.url)) {
  main().catch((/** @type {Error} */ error) => {
    console.error(`[train-image] ERROR: ${error.message}`);
    process.exit(1);
  });
}
