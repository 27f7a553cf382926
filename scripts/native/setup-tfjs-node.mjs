#!/usr/bin/env node
// @ts-nocheck -- runs before any install (postinstall) and is not written against JSDoc types yet;
// tsconfig's checkJs covers the other scripts.
// Builds @tensorflow/tfjs-node's native addon against the TensorFlow C library
// shipped inside the official `tensorflow-cpu` wheel, instead of letting
// tfjs-node's own installer download libtensorflow from a Google bucket.
//
// Run by `npm run setup:native` and by the root `postinstall`.
//
//   1. pip download the pinned tensorflow-cpu wheel (sha256-checked), extract
//      only libtensorflow_cc.so.2, libtensorflow_framework.so.2 and the C API
//      headers into a cache outside node_modules (survives `npm ci`), keyed by
//      the wheel's sha256; the wheel itself is deleted afterwards.
//   2. Link the libraries into node_modules/@tensorflow/tfjs-node/deps/lib,
//      where binding.gyp links them (-ltensorflow -ltensorflow_framework) and
//      where the addon's rpath ($ORIGIN/../../deps/lib) finds them at run time.
//   3. Build the addon with node-gyp (or reuse a cached build keyed by the
//      binding sources, tfjs-node version, N-API version, wheel sha and the
//      Node.js version that builds it: addon-cache.mjs) into
//      lib/napi-v<N>/tfjs_binding.node, where node-pre-gyp's find() looks.
//   4. Verify in a child process: backend 'tensorflow', TF version, a conv2d.
//
// It never fails an install: on any problem it prints ONE warning and exits 0
// (training then falls back to the wasm backend), unless FMNIST_EXPECT_NATIVE=1
// or --strict is given, in which case it exits 1.
//
// Environment:
//   FMNIST_SKIP_NATIVE=1      skip entirely
//   FMNIST_EXPECT_NATIVE=1    failures exit 1 (CI)
//   FMNIST_NATIVE_CACHE=dir   cache dir (default $XDG_CACHE_HOME/fmnist-native or ~/.cache/fmnist-native)
//   FMNIST_TF_WHEEL=file.whl  use this wheel instead of `pip download` (still sha256-checked)
//   FMNIST_PYTHON=python3     python interpreter that runs pip and unzips the wheel
// Flags: --strict (as FMNIST_EXPECT_NATIVE=1), --force (rebuild addon, ignore addon cache),
//        --quiet (only the final line / warning).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { addonCacheName, readBindingSources } from './addon-cache.mjs';

// ---- pins -------------------------------------------------------------------
const TF_VERSION = '2.21.0';
// Wheels whose sha256 we have verified. The C library inside does not depend on
// the Python version, so pip is told to fetch exactly this cp311 wheel whatever
// Python the user has. Only linux-x64 could be verified (it is the only wheel in
// this machine's index); other platforms fail soft until a wheel is pinned here.
const WHEELS = {
  'linux-x64': {
    file: 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl',
    sha256: '2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c',
    pip: ['--platform', 'manylinux_2_27_x86_64', '--python-version', '3.11',
      '--implementation', 'cp', '--abi', 'cp311'],
    libs: ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'],
    // binding.gyp links -ltensorflow -ltensorflow_framework (dev names)
    devLinks: { 'libtensorflow.so': 'libtensorflow_cc.so.2',
      'libtensorflow_framework.so': 'libtensorflow_framework.so.2' },
  },
};
// Headers the binding's #include closure needs (checked with g++ -M), as
// prefixes of wheel members under tensorflow/include/.
const HEADER_PREFIXES = [
  'tensorflow/c/', 'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring',
  'xla/tsl/c/',
];
const SETUP_VERSION = 1; // bump to invalidate cached extractions/builds

// ---- options ----------------------------------------------------------------
const argv = new Set(process.argv.slice(2));
const STRICT = argv.has('--strict') || process.env.FMNIST_EXPECT_NATIVE === '1';
const FORCE = argv.has('--force');
const QUIET = argv.has('--quiet');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1) + 's';
const log = (...a) => { if (!QUIET) console.log('[setup:native]', ...a); };

class Soft extends Error {
  constructor(what, hint) { super(what); this.hint = hint; }
}

function finish(err) {
  if (!err) return;
  const hint = err.hint ?? 'install pip (python3 -m pip) and a C++ toolchain (g++, make), then run `npm run setup:native`';
  console.warn(`[setup:native] WARNING: native TensorFlow backend NOT set up: ${err.message}. ` +
    `Training will fall back to the slower wasm backend. For native speed: ${hint}.` +
    (STRICT ? '' : ' (Set FMNIST_SKIP_NATIVE=1 to silence.)'));
  if (!(err instanceof Soft) && process.env.FMNIST_NATIVE_DEBUG === '1') console.warn(err.stack);
  process.exitCode = STRICT ? 1 : 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return { ok: !r.error && r.status === 0, status: r.status, error: r.error,
    out: (r.stdout ?? '') + (r.stderr ?? '') };
}
const tail = (s, n = 15) => s.trim().split('\n').slice(-n).join('\n');

function sha256File(file) {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally { fs.closeSync(fd); }
  return h.digest('hex');
}

function cacheBase() {
  if (process.env.FMNIST_NATIVE_CACHE) return path.resolve(process.env.FMNIST_NATIVE_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'fmnist-native');
}

function findPython() {
  const cands = process.env.FMNIST_PYTHON ? [process.env.FMNIST_PYTHON] : ['python3', 'python'];
  for (const py of cands) {
    const r = run(py, ['-c', 'import sys,zipfile; print(sys.version_info[0])']);
    if (r.ok && r.out.trim() === '3') return py;
  }
  throw new Soft('python3 not found', 'install python3 with pip, then run `npm run setup:native`');
}

// ---- step 1: wheel -> cached libs + headers -----------------------------------
function ensureTfLibs(pin, base) {
  const dir = path.join(base, `tf-${TF_VERSION}-${pin.sha256.slice(0, 16)}-v${SETUP_VERSION}`);
  const marker = path.join(dir, 'COMPLETE.json');
  if (fs.existsSync(marker) && pin.libs.every((l) => fs.existsSync(path.join(dir, 'lib', l)))) {
    log(`TensorFlow ${TF_VERSION} C library: cached at ${dir}`);
    return dir;
  }
  const py = findPython();
  fs.mkdirSync(base, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(base, '.tmp-'));
  try {
    let wheel = process.env.FMNIST_TF_WHEEL;
    if (wheel) {
      log(`using wheel from FMNIST_TF_WHEEL=${wheel}`);
    } else {
      if (!run(py, ['-m', 'pip', '--version']).ok) {
        throw new Soft('pip is not available (`python3 -m pip` failed)',
          'install pip (e.g. `apt-get install python3-pip`), then run `npm run setup:native`');
      }
      log(`pip download tensorflow-cpu==${TF_VERSION} (${pin.file}) ...`);
      const dl = path.join(tmp, 'dl');
      const r = run(py, ['-m', 'pip', 'download', `tensorflow-cpu==${TF_VERSION}`, '--no-deps',
        '--only-binary=:all:', ...pin.pip, '--retries', '0', '--timeout', '5',
        '--disable-pip-version-check', '--no-input', '--no-cache-dir', '-d', dl],
      { env: { ...process.env, PIP_NO_INPUT: '1' } });
      if (!r.ok) {
        throw new Soft(`\`pip download tensorflow-cpu==${TF_VERSION}\` failed:\n${tail(r.out, 6)}\n`,
          'make the tensorflow-cpu wheel reachable for pip (PyPI or a local index), or set FMNIST_TF_WHEEL=/path/to/' + pin.file + ', then run `npm run setup:native`');
      }
      wheel = path.join(dl, pin.file);
      if (!fs.existsSync(wheel)) {
        const got = fs.existsSync(dl) ? fs.readdirSync(dl).join(', ') : 'nothing';
        throw new Soft(`pip downloaded ${got}, expected ${pin.file}`);
      }
    }
    const sha = sha256File(wheel);
    if (sha !== pin.sha256) {
      throw new Soft(`sha256 mismatch for ${path.basename(wheel)}: got ${sha}, pinned ${pin.sha256}`,
        'refusing an unverified wheel; check your pip index, then run `npm run setup:native`');
    }
    log(`wheel sha256 verified (${(fs.statSync(wheel).size / 1e6).toFixed(0)} MB); extracting ...`);
    const out = path.join(tmp, 'out');
    const pyExtract = `
import os, shutil, sys, zipfile
whl, out, libs, prefixes = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4].split(',')
z = zipfile.ZipFile(whl)
names = set(z.namelist())
def copy(member, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(member) as src, open(dest, 'wb') as dst:
        shutil.copyfileobj(src, dst, 8 << 20)
for lib in libs:
    m = 'tensorflow/' + lib
    if m not in names: sys.exit('missing in wheel: ' + m)
    copy(m, os.path.join(out, 'lib', lib))
n = 0
for m in sorted(names):
    rel = m[len('tensorflow/include/'):] if m.startswith('tensorflow/include/') else None
    if rel and not m.endswith('/') and any(rel.startswith(p) for p in prefixes):
        copy(m, os.path.join(out, 'include', rel)); n += 1
print(n)
`;
    const r = run(py, ['-c', pyExtract, wheel, out, pin.libs.join(','), HEADER_PREFIXES.join(',')]);
    if (!r.ok) throw new Error(`extracting the wheel failed: ${tail(r.out)}`);
    for (const l of pin.libs) fs.chmodSync(path.join(out, 'lib', l), 0o755);
    fs.writeFileSync(path.join(out, 'COMPLETE.json'), JSON.stringify({
      wheel: pin.file, sha256: pin.sha256, headers: Number(r.out.trim()), at: new Date().toISOString(),
    }, null, 2) + '\n');
    // Another install sharing the cache may have published the same extraction meanwhile: keep
    // theirs (it may be in use); only a leftover without its marker is replaced.
    if (!fs.existsSync(marker)) {
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        fs.renameSync(out, dir); // atomic publish into the cache
      } catch (e) {
        if (!fs.existsSync(marker)) throw e;
      }
    }
    log(`extracted libs + ${r.out.trim()} headers to ${dir} (${secs()})`);
    return dir;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true }); // drops the ~274 MB wheel
  }
}

// ---- step 2: place libs where binding.gyp expects them ----------------------------
function linkOrCopy(src, dest) {
  fs.rmSync(dest, { force: true });
  try { fs.linkSync(src, dest); return 'hardlink'; } catch { /* other filesystem */ }
  fs.symlinkSync(src, dest); return 'symlink';
}

function placeDeps(pin, tfDir, tfjsNodeDir) {
  const deps = path.join(tfjsNodeDir, 'deps');
  const lib = path.join(deps, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  let how = '';
  for (const l of pin.libs) {
    const src = path.join(tfDir, 'lib', l);
    const dest = path.join(lib, l);
    try {
      const a = fs.statSync(src);
      const b = fs.statSync(dest);
      if (a.ino === b.ino && a.dev === b.dev) { how = 'hardlink'; continue; }
    } catch { /* missing */ }
    how = linkOrCopy(src, dest);
  }
  for (const [name, target] of Object.entries(pin.devLinks)) {
    const p = path.join(lib, name);
    fs.rmSync(p, { force: true });
    fs.symlinkSync(target, p);
  }
  const inc = path.join(deps, 'include');
  fs.rmSync(inc, { recursive: true, force: true });
  fs.symlinkSync(path.join(tfDir, 'include'), inc);
  return how;
}

// ---- step 3: the addon ----------------------------------------------------------
function napiBuildVersion(pkg) {
  const have = Number(process.versions.napi);
  const ok = (pkg.binary?.napi_versions ?? []).filter((v) => v <= have);
  if (!ok.length) throw new Soft(`Node's N-API ${have} is older than tfjs-node supports`, 'use Node >= 20');
  return Math.max(...ok);
}

function findNodeGyp() {
  const cands = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const npmPrefix = run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['prefix', '-g']);
  if (npmPrefix.ok) cands.push(path.join(npmPrefix.out.trim(), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const npmOnPath = npmCliDir();
  if (npmOnPath) cands.push(path.join(npmOnPath, '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const c of cands) if (c && fs.existsSync(c)) return [process.execPath, [c]];
  if (run('node-gyp', ['--version']).ok) return ['node-gyp', []];
  throw new Soft('node-gyp not found (it ships with npm)', 'reinstall npm or `npm i -g node-gyp`, then run `npm run setup:native`');
}

// The directory of the npm on PATH (its bin/), whichever Node runs it: a Node from a tarball
// without npm (e.g. CI's second Node version) borrows the machine's npm, whose global prefix
// (`npm prefix -g`) then points at that tarball instead.
function npmCliDir() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try { return path.dirname(fs.realpathSync(path.join(dir, 'npm'))); } catch { /* not here */ }
  }
  return null;
}

function localNodeDir() {
  // Point node-gyp at Node's own headers when they are installed next to it, so
  // it does not download a header tarball.
  if (process.env.npm_config_nodedir) return null; // npm passes it through already
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  try {
    const h = fs.readFileSync(path.join(prefix, 'include', 'node', 'node_version.h'), 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => h.match(new RegExp(`#define NODE_${k}_VERSION (\\d+)`))[1]).join('.');
    if (`v${v}` === process.version && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) return prefix;
  } catch { /* not there */ }
  return null;
}

function addonPlan(pkg, pin, base, tfjsNodeDir) {
  const napi = napiBuildVersion(pkg);
  const modulePath = path.join(tfjsNodeDir, pkg.binary.module_path.replace('{napi_build_version}', String(napi)));
  const target = path.join(modulePath, `${pkg.binary.module_name}.node`);
  const cacheName = addonCacheName({
    setupVersion: SETUP_VERSION, tfjsNodeVersion: pkg.version, napi, wheelSha256: pin.sha256,
    nodeVersion: process.version, platform: process.platform, arch: process.arch,
    sources: readBindingSources(tfjsNodeDir),
  });
  const cached = path.join(base, cacheName, 'tfjs_binding.node');
  const plan = { napi, modulePath, target, cached, build: FORCE || !fs.existsSync(cached) };
  if (plan.build) {
    // Check the toolchain before downloading/extracting ~1 GB.
    if (!run('make', ['--version']).ok || !run(process.env.CXX || 'g++', ['--version']).ok && !run('c++', ['--version']).ok) {
      throw new Soft('no C++ toolchain (g++/c++ and make) to build the tfjs-node addon',
        'install one (e.g. `apt-get install g++ make`), then run `npm run setup:native`');
    }
    plan.gyp = findNodeGyp();
  }
  return plan;
}

function ensureAddon(pkg, plan, tfjsNodeDir) {
  const { napi, modulePath, target, cached } = plan;
  fs.mkdirSync(modulePath, { recursive: true });
  if (!plan.build) {
    fs.copyFileSync(cached, target);
    log(`addon: reused cached build ${cached}`);
    return 'cached';
  }
  const [gypCmd, gypPre] = plan.gyp;
  const args = [...gypPre, 'rebuild', `--jobs=${Math.max(1, os.availableParallelism?.() ?? os.cpus().length)}`,
    `--napi_build_version=${napi}`, `--module_name=${pkg.binary.module_name}`, `--module_path=${modulePath}`];
  const nodedir = localNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  log(`building addon: node-gyp ${args.slice(gypPre.length).join(' ')} ...`);
  const r = run(gypCmd, args, { cwd: tfjsNodeDir });
  if (!r.ok) {
    throw new Soft(`node-gyp build of the tfjs-node addon failed:\n${tail(r.out)}\n`,
      'check the C++ toolchain, then run `npm run setup:native`');
  }
  if (!fs.existsSync(target)) fs.copyFileSync(path.join(tfjsNodeDir, 'build', 'Release', 'tfjs_binding.node'), target);
  fs.rmSync(path.join(tfjsNodeDir, 'build'), { recursive: true, force: true }); // object files, not needed
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  // Per-process temporary name: two installs building at once (parallel CI jobs sharing the
  // cache) must not interleave their copies.
  const tmp = `${cached}.${process.pid}.tmp`;
  fs.copyFileSync(target, tmp);
  fs.renameSync(tmp, cached);
  log(`addon built -> ${path.relative(ROOT, target)} (${secs()})`);
  return 'built';
}

// ---- step 4: verify in a clean child process ----------------------------------
const VERIFY = `
const { createRequire } = require('node:module');
const req = createRequire(process.argv[1] + '/package.json');
const tf = req('@tensorflow/tfjs-node');
(async () => {
  await tf.ready();
  if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
  const x = tf.ones([1, 5, 5, 1]);
  const w = tf.ones([3, 3, 1, 2]);
  const y = tf.conv2d(x, w, 1, 'valid');
  const v = await y.data();
  if (y.shape.join() !== '1,3,3,2' || v.some((e) => Math.abs(e - 9) > 1e-6)) throw new Error('conv2d gave ' + v);
  const g = tf.grad((w) => tf.conv2d(x, w, 1, 'same').sum())(w);
  if (g.shape.join() !== '3,3,1,2') throw new Error('conv2d grad shape ' + g.shape);
  console.log(JSON.stringify({ backend: tf.getBackend(), tf: tf.backend().binding.TF_Version, tfjsNode: tf.version['tfjs-node'] }));
})().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
`;

function verify() {
  const r = run(process.execPath, ['-e', VERIFY, ROOT], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' } });
  if (!r.ok) throw new Error(`the built addon does not load:\n${tail(r.out)}\n`);
  const line = r.out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return JSON.parse(line);
}

// ---- main ---------------------------------------------------------------------------
function main() {
  if (process.env.FMNIST_SKIP_NATIVE === '1') { log('FMNIST_SKIP_NATIVE=1: skipped'); return; }
  const plat = `${process.platform}-${process.arch}`;
  const pin = WHEELS[plat];
  if (!pin) {
    throw new Soft(`no pinned tensorflow-cpu wheel for ${plat} (only ${Object.keys(WHEELS).join(', ')})`,
      'use linux x86_64 (e.g. in Docker) for native speed');
  }
  const req = createRequire(path.join(ROOT, 'package.json'));
  let pkgFile;
  try { pkgFile = req.resolve('@tensorflow/tfjs-node/package.json'); } catch {
    // Usual cause: npm ran tfjs-node's own install script (it downloads
    // libtensorflow from a Google bucket), that failed, and npm dropped the
    // optional dependency. npm >= 11 skips it when package.json has
    // "allowScripts": {"@tensorflow/tfjs-node": false}; older npm always runs it.
    const rootPkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const denied = rootPkg.allowScripts?.['@tensorflow/tfjs-node'] === false;
    const npmV = /npm\/(\d+)/.exec(process.env.npm_config_user_agent ?? '')?.[1];
    const why = !denied ? 'package.json lacks "allowScripts": {"@tensorflow/tfjs-node": false}, so npm ran its download script, which failed and got it dropped'
      : npmV && Number(npmV) < 11 ? `npm ${npmV} ignores "allowScripts", ran its download script, which failed and got it dropped`
        : 'optional dependency omitted?';
    throw new Soft(`@tensorflow/tfjs-node is not installed (${why})`,
      'run `npm ci --ignore-scripts && npm run setup:native` (or use npm >= 11 with the allowScripts denial)');
  }
  const tfjsNodeDir = path.dirname(pkgFile);
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  const base = cacheBase();
  const plan = addonPlan(pkg, pin, base, tfjsNodeDir);
  const tfDir = ensureTfLibs(pin, base);
  const how = placeDeps(pin, tfDir, tfjsNodeDir);
  log(`libs placed in ${path.relative(ROOT, path.join(tfjsNodeDir, 'deps', 'lib'))} (${how}s to the cache)`);
  const addon = ensureAddon(pkg, plan, tfjsNodeDir);
  const v = verify();
  console.log(`[setup:native] OK: @tensorflow/tfjs-node ${v.tfjsNode} native backend '${v.backend}', TensorFlow ${v.tf}; ` +
    `addon ${addon === 'built' ? 'built' : 'from the cache'} for Node.js ${process.version} (${secs()})`);
}

try { main(); } catch (e) { finish(e); }
