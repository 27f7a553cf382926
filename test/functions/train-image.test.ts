// The training image (functions/train/Dockerfile) cannot be built here (no Docker engine), so this
// checks what can be: the Dockerfile against the stack's contract (TRAIN_IMAGE in
// infra/training.ts), and scripts/train-image/{bundle,prune}.mjs for real: the bundles they write
// import in a fresh Node process, and (where the native backend is set up) the pruned
// node_modules written runs the image's selfcheck (functions/train/selfcheck.ts): native TensorFlow through the addon's rpath,
// one graph training step, the wasm fallback.
//
// The pruned-tree test is skipped when tfjs-node's addon or libraries are missing, unless
// FMNIST_EXPECT_NATIVE=1 (CI), in which case that is a failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TRAIN_IMAGE, TRAIN_IMAGE_EXCLUDES } from '../../infra/training.ts';
import { REPO_ROOT } from '../../infra/paths.ts';
import { asPinnedImage } from '../../infra/settings.ts';
import { nativeFilesLoaded } from '../../functions/train/selfcheck.ts';

const BUNDLE = path.join(REPO_ROOT, 'scripts', 'train-image', 'bundle.mjs');
const PRUNE = path.join(REPO_ROOT, 'scripts', 'train-image', 'prune.mjs');
const SETUP = path.join(REPO_ROOT, 'scripts', 'native', 'setup-tfjs-node.mjs');
const DOCKERFILE = path.join(REPO_ROOT, TRAIN_IMAGE.file);
const EXPECT_NATIVE = process.env.FMNIST_EXPECT_NATIVE === '1';
const BASE_IMAGE = /^public\.ecr\.aws\/lambda\/nodejs:22(@sha256:[0-9a-f]{64})?$/;

// ---- the Dockerfile, parsed ------------------------------------------------------------------------
interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  body: Instruction[];
}
interface Dockerfile {
  /** `ARG name[=default]` lines before the first FROM (usable in FROM lines only). */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (current === '' && /^\s*(#|$)/.test(raw)) continue;
    if (/^\s*#/.test(raw)) continue; // comment lines inside a continued instruction
    if (raw.endsWith('\\')) {
      current += raw.slice(0, -1) + ' ';
      continue;
    }
    logical.push((current + raw).trim());
    current = '';
  }
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string | undefined>();
  for (const line of logical) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (keyword.toUpperCase() === 'FROM') {
      const [from, as, name] = args.split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else if (stages.length === 0) {
      assert.equal(keyword.toUpperCase(), 'ARG', `${keyword} before the first FROM`);
      const [name, ...value] = args.split('=');
      globalArgs.set(name, value.length ? value.join('=') : undefined);
    } else {
      stages.at(-1)!.body.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return { globalArgs, stages };
}

const dockerfileText = fs.readFileSync(DOCKERFILE, 'utf8');
const { globalArgs, stages } = parseDockerfile(dockerfileText);
const [buildStage, runtimeStage] = stages;
const runs = (stage: Stage) => stage.body.filter((i) => i.keyword === 'RUN').map((i) => i.args);

/** Docker-ignore-style match of a context path against TRAIN_IMAGE_EXCLUDES (enough for its patterns). */
function excluded(p: string): string | undefined {
  const toRegex = (pattern: string) =>
    new RegExp(
      '^' +
        pattern
          .split('/')
          .map((seg) => (seg === '**' ? '(?:.*/)?' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '/'))
          .join('')
          .replace(/\/$/, '') +
        '(?:/.*)?$',
    );
  return TRAIN_IMAGE_EXCLUDES.find((pattern) => toRegex(pattern).test(p));
}

describe('functions/train/Dockerfile against the stack contract', () => {
  test('two stages, both FROM the BASE_IMAGE argument (default: the Lambda Node.js 22 image), the first named build', () => {
    assert.equal(stages.length, 2, `stages: ${stages.map((s) => s.from).join(', ')}`);
    assert.deepEqual([...globalArgs.keys()], [TRAIN_IMAGE.baseImageArg]);
    const base = globalArgs.get(TRAIN_IMAGE.baseImageArg);
    assert.match(base ?? '', BASE_IMAGE);
    for (const stage of stages) assert.equal(stage.from, `\${${TRAIN_IMAGE.baseImageArg}}`);
    assert.equal(buildStage.name, 'build');
    assert.equal(stages.filter((s) => s.name === undefined).length, 1);
  });

  test('the default base image, pinned with a digest, is what context trainBaseImage accepts', () => {
    const base = globalArgs.get(TRAIN_IMAGE.baseImageArg)!;
    const pinned = `${base}@sha256:${'0'.repeat(64)}`;
    assert.equal(asPinnedImage(pinned, 'trainBaseImage'), pinned);
    assert.throws(() => asPinnedImage(base, 'trainBaseImage'), /trainBaseImage/);
    assert.match(dockerfileText, /docker buildx imagetools inspect public\.ecr\.aws\/lambda\/nodejs:22/, 'says how to look the digest up');
  });

  test('the runtime stage runs as the non-root TRAIN_IMAGE.user, checks itself as that user, and declares /tmp (1777) a volume', () => {
    const body = runtimeStage.body;
    const at = (predicate: (i: Instruction) => boolean) => body.findIndex(predicate);
    const users = body.filter((i) => i.keyword === 'USER');
    assert.deepEqual(users.map((i) => i.args), [TRAIN_IMAGE.user]);
    assert.notEqual(TRAIN_IMAGE.user.split(':')[0], '0');
    assert.notEqual(TRAIN_IMAGE.user.split(':')[0], 'root');
    const user = at((i) => i.keyword === 'USER');
    const chmod = at((i) => i.keyword === 'RUN' && i.args.trim() === `chmod 1777 ${TRAIN_IMAGE.scratchPath}`);
    const selfcheck = at((i) => i.keyword === 'RUN' && i.args.trim() === 'node functions/train/selfcheck.mjs');
    const lastCopy = body.map((i) => i.keyword).lastIndexOf('COPY');
    assert.ok(chmod >= 0 && chmod < user, 'chmod 1777 /tmp as root, before USER');
    assert.ok(lastCopy < user && user < selfcheck, 'USER after the copies, before the selfcheck');
    const volumes = body.filter((i) => i.keyword === 'VOLUME').map((i) => JSON.parse(i.args));
    assert.deepEqual(volumes, [[TRAIN_IMAGE.scratchPath]]);
    assert.equal(buildStage.body.some((i) => i.keyword === 'USER' || i.keyword === 'VOLUME'), false, 'the build stage stays root');
  });

  test('the runtime stage: CMD is the Lambda handler, WORKDIR the task root, both bundles copied there', () => {
    const cmd = runtimeStage.body.filter((i) => i.keyword === 'CMD');
    assert.equal(cmd.length, 1);
    assert.deepEqual(JSON.parse(cmd[0].args), [...TRAIN_IMAGE.lambdaCmd]);
    const workdirs = runtimeStage.body.filter((i) => i.keyword === 'WORKDIR').map((i) => i.args);
    assert.equal(workdirs.at(-1), TRAIN_IMAGE.workingDirectory);
    assert.equal(runtimeStage.body.some((i) => i.keyword === 'ENTRYPOINT'), false, 'keeps the base image ENTRYPOINT');

    // functions/train/handler.handler -> functions/train/handler.mjs; fargate: functions/train/fargate.mjs
    const handlerFile = `${TRAIN_IMAGE.lambdaCmd[0].replace(/\.[^.]+$/, '')}.mjs`;
    const fargateFile = TRAIN_IMAGE.fargateCommand[0];
    assert.equal(path.posix.dirname(handlerFile), 'functions/train');
    assert.equal(path.posix.dirname(fargateFile), 'functions/train');
    const bundleRun = runs(buildStage).find((r) => r.includes('scripts/train-image/bundle.mjs') && r.includes('--outdir'));
    assert.ok(bundleRun, 'the build stage bundles with scripts/train-image/bundle.mjs --outdir');
    const outdir = /--outdir\s+(\S+)/.exec(bundleRun)![1];
    const copies = runtimeStage.body.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/));
    assert.ok(
      copies.some((c) => c[0] === '--from=build' && c[1] === outdir && c[2].replace(/^\.\//, '').replace(/\/$/, '') === 'functions/train'),
      `COPY --from=build ${outdir} ./functions/train (where ${handlerFile} and ${fargateFile} must be)`,
    );
    const pruneRun = runs(buildStage).find((r) => r.includes('scripts/train-image/prune.mjs') && r.includes('--outdir'));
    assert.ok(pruneRun, 'the build stage prunes node_modules with scripts/train-image/prune.mjs --outdir');
    assert.match(pruneRun, /--strip\b/);
    const pruned = /--outdir\s+(\S+)/.exec(pruneRun)![1];
    assert.ok(copies.some((c) => c[0] === '--from=build' && c[1] === pruned && c[2].replace(/^\.\//, '') === 'node_modules'));
    // Nothing else of the build stage (no full node_modules, no cache, no sources) reaches the image.
    assert.equal(copies.length, 2, copies.map((c) => c.join(' ')).join('; '));
  });

  test('the image build fails unless native TensorFlow works: strict setup, selfcheck in the runtime stage', () => {
    assert.ok(runs(buildStage).some((r) => /scripts\/native\/setup-tfjs-node\.mjs/.test(r) && /--strict|FMNIST_EXPECT_NATIVE=1/.test(r)));
    assert.ok(runs(buildStage).some((r) => /npm ci\b.*--ignore-scripts/.test(r)), 'npm 10 ignores allowScripts: npm ci --ignore-scripts');
    assert.ok(runs(runtimeStage).some((r) => r.trim() === 'node functions/train/selfcheck.mjs'));
    // the runtime stage installs nothing
    assert.equal(runs(runtimeStage).some((r) => /\b(dnf|npm|pip)\b/.test(r)), false);
  });

  test('threads and backend are left to the environment the stack sets', () => {
    const envs = stages.flatMap((s) => s.body.filter((i) => i.keyword === 'ENV').map((i) => i.args));
    for (const name of ['TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'OMP_NUM_THREADS', 'FMNIST_BACKEND']) {
      assert.equal(envs.some((e) => e.includes(name)), false, `${name} set in the Dockerfile`);
    }
  });

  test('the wheel pin lives in the setup script only (no second, possibly different, sha256 or version)', () => {
    const setup = fs.readFileSync(SETUP, 'utf8');
    const pins = [...setup.matchAll(/sha256: '([0-9a-f]{64})'/g)].map((m) => m[1]);
    assert.equal(pins.length, 1, 'one pinned wheel in setup-tfjs-node.mjs');
    const tfVersion = /const TF_VERSION = '([^']+)'/.exec(setup)![1];
    for (const hex of dockerfileText.match(/\b[0-9a-f]{64}\b/g) ?? []) assert.equal(hex, pins[0], 'a different sha256 in the Dockerfile');
    for (const m of dockerfileText.matchAll(/tensorflow[-_]cpu[=-]{1,2}(\d+\.\d+\.\d+)/g)) assert.equal(m[1], tfVersion);
    assert.equal(/FMNIST_TF_WHEEL|FMNIST_SKIP_NATIVE/.test(dockerfileText), false, 'the wheel comes from pip and is checked');
  });

  test('every COPY source is in the build context (not in TRAIN_IMAGE_EXCLUDES) and exists', () => {
    const sources = stages
      .flatMap((s) => s.body)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    assert.ok(sources.length > 0);
    for (const source of sources) {
      assert.equal(excluded(source), undefined, `${source} is excluded from the build context (${excluded(source)})`);
      assert.ok(fs.existsSync(path.join(REPO_ROOT, source)), `${source} does not exist`);
    }
    assert.equal(excluded('node_modules'), 'node_modules'); // the matcher itself works
    assert.equal(excluded('infra/training.ts'), 'infra');
  });
});

// ---- the bundles and the pruned node_modules, for real -----------------------------------------
const tfjsNode = path.join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs-node');
const nativeMissing = ['deps/lib/libtensorflow_cc.so.2', 'deps/lib/libtensorflow_framework.so.2', 'lib/napi-v8/tfjs_binding.node'].filter(
  (f) => !fs.existsSync(path.join(tfjsNode, f)),
);
const skipNative =
  nativeMissing.length === 0 || EXPECT_NATIVE
    ? false
    : `tfjs-node is not set up (missing ${nativeMissing.join(', ')}); run \`npm run setup:native\`, or set FMNIST_EXPECT_NATIVE=1 to make this a failure`;

function node(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS; // no tsx loader: plain Node, as in the image
  delete env.FMNIST_BACKEND;
  const r = spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ...r, output: `${r.stdout}\n${r.stderr}` };
}

describe('scripts/train-image: bundle.mjs and prune.mjs', () => {
  // Inside the repository (out/ is ignored by git and left out of the image build context): on the
  // same filesystem as node_modules, so --link can hard-link the TensorFlow libraries.
  let work: string;
  let image: string; // like /var/task: functions/train/*.mjs + node_modules (pruned)
  let plain: string; // functions/train/*.mjs + a symlink to the repository's node_modules
  let summary: { files: Record<string, number>; externals: string[] };

  before(() => {
    fs.mkdirSync(path.join(REPO_ROOT, 'out'), { recursive: true });
    work = fs.mkdtempSync(path.join(REPO_ROOT, 'out', 'train-image-test-'));
    image = path.join(work, 'image');
    const r = node([BUNDLE, '--outdir', path.join(image, 'functions', 'train'), '--json'], REPO_ROOT);
    assert.equal(r.status, 0, r.output);
    summary = JSON.parse(r.stdout);

    // The same bundles beside a symlink to the repository's node_modules.
    plain = path.join(work, 'plain');
    fs.mkdirSync(path.join(plain, 'functions', 'train'), { recursive: true });
    for (const f of ['handler.mjs', 'fargate.mjs']) {
      fs.copyFileSync(path.join(image, 'functions', 'train', f), path.join(plain, 'functions', 'train', f));
    }
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(plain, 'node_modules'), 'dir');
  });
  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('writes handler.mjs, fargate.mjs and selfcheck.mjs; only @tensorflow packages stay external', () => {
    for (const f of ['handler.mjs', 'fargate.mjs', 'selfcheck.mjs']) {
      assert.ok(fs.statSync(path.join(image, 'functions', 'train', f)).size > 0, f);
    }
    assert.deepEqual(Object.keys(summary.files).sort(), ['fargate.mjs', 'handler.mjs', 'selfcheck.mjs']);
    assert.deepEqual(summary.externals, ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node']);
  });

  test('the bundles carry no chart rendering (@napi-rs/canvas, lib/report) and no infra code', () => {
    for (const f of ['handler.mjs', 'fargate.mjs', 'selfcheck.mjs']) {
      const text = fs.readFileSync(path.join(image, 'functions', 'train', f), 'utf8');
      assert.equal(text.includes('@napi-rs/canvas'), false, `${f} mentions @napi-rs/canvas`);
      // esbuild marks each bundled module with a `// <path>` line
      assert.equal(/^\/\/ (lib\/report|infra)\//m.test(text), false, `${f} contains lib/report or infra code`);
      assert.ok(/^\/\/ lib\/model\/backend\.ts$/m.test(text), `${f} has no module markers to check`);
      assert.equal(/^import\{createRequire as __fmnistRequire\}/.test(text), true, `${f} starts with the createRequire banner`);
    }
  });

  test('the bundles load @tensorflow packages with require, not an ESM import (Node would run its CJS lexer over them: ~0.35 s of a cold start)', () => {
    for (const f of ['handler.mjs', 'fargate.mjs', 'selfcheck.mjs']) {
      const text = fs.readFileSync(path.join(image, 'functions', 'train', f), 'utf8');
      assert.equal(/^\s*import\b[^;]*["']@tensorflow\//m.test(text), false, `${f} has an ESM import of a @tensorflow package`);
      assert.equal(/\bimport\(\s*["']@tensorflow\//.test(text), false, `${f} has a dynamic import() of a @tensorflow package`);
      assert.match(text, /__require\("@tensorflow\/tfjs"\)/, `${f} requires @tensorflow/tfjs`);
    }
  });

  test('the bundles import in a plain Node process and export the contract entry points', () => {
    const url = (f: string) => pathToFileURL(path.join(plain, 'functions', 'train', f)).href;
    const script =
      `const h = await import(${JSON.stringify(url('handler.mjs'))});` +
      `const f = await import(${JSON.stringify(url('fargate.mjs'))});` +
      `console.log(JSON.stringify({ handler: typeof h.handler, create: typeof h.createTrainHandler, fargate: typeof f.runFargateTraining }));` +
      `process.exit(0);`;
    const r = node(['--input-type=module', '-e', script], plain);
    assert.equal(r.status, 0, r.output);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), { handler: 'function', create: 'function', fargate: 'function' });
  });

  test('fargate.mjs run as `node functions/train/fargate.mjs` without an event fails as a ConfigError, exit 1', () => {
    const r = node([TRAIN_IMAGE.fargateCommand[0]], plain); // cwd = the task root, as on Fargate
    assert.equal(r.status, 1, r.output);
    assert.match(r.stdout, /"error":"ConfigError"/);
  });

  test('the tools refuse what they do not know, naming it', () => {
    const r = node([BUNDLE, '--outdir', path.join(work, 'never'), '--prune'], REPO_ROOT);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\[train-image\] ERROR: .*--prune/);
    const missing = node([PRUNE], REPO_ROOT);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /give --outdir DIR/);
  });

  test('refuses --strip with --link (strip would rewrite the shared inode: the setup cache)', () => {
    const r = node([PRUNE, '--outdir', path.join(work, 'never'), '--link', '--strip'], REPO_ROOT);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot be combined with --link/);
  });

  test('the pruned node_modules runs the image selfcheck: native via the rpath, one graph training step, wasm fallback', { skip: skipNative }, () => {
    const nm = path.join(image, 'node_modules');
    const pruneRun = node([PRUNE, '--outdir', nm, '--link', '--json'], REPO_ROOT);
    assert.equal(pruneRun.status, 0, pruneRun.output);
    const pruned = JSON.parse(pruneRun.stdout) as { packages: Record<string, unknown>; libraries: Record<string, unknown> };

    // what the image must not carry
    const names = Object.keys(pruned.packages);
    for (const absent of ['@napi-rs/canvas', 'esbuild', 'typescript', 'aws-cdk-lib', 'tsx', '@aws-sdk/client-s3', 'zod']) {
      assert.equal(names.includes(absent), false, `${absent} in the runtime node_modules`);
    }
    assert.deepEqual(Object.keys(pruned.libraries).sort(), ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']);
    const tfjsNodeOut = path.join(nm, '@tensorflow', 'tfjs-node');
    for (const gone of ['deps/include', 'deps/lib/libtensorflow.so', 'binding', 'binding.gyp', 'src', 'python', 'scripts', 'build']) {
      assert.equal(fs.existsSync(path.join(tfjsNodeOut, gone)), false, `tfjs-node/${gone} in the image`);
    }
    const stray = (fs.readdirSync(nm, { recursive: true }) as string[]).filter((f) => /\.(map|ts)$/.test(f));
    assert.deepEqual(stray, []);

    const r = node([path.join(image, 'functions', 'train', 'selfcheck.mjs')], image);
    assert.equal(r.status, 0, r.output);
    const check = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(check.ok, true);
    assert.equal(check.native.name, 'tensorflow');
    assert.ok(check.native.tensorflowVersion, 'TF_Version reported');
    assert.ok(Number.isFinite(check.native.loss));
    assert.equal(check.native.trainingStep, 'graph', 'native trains through the TensorFlow graph step');
    assert.equal(check.wasm.name, 'wasm');
    assert.ok(Number.isFinite(check.wasm.loss));
    assert.equal(check.wasm.trainingStep, 'eager');
    const libDir = fs.realpathSync(path.join(tfjsNodeOut));
    for (const file of check.native.loaded) assert.ok(file.startsWith(libDir + path.sep), `${file} loaded from outside the pruned tree`);
  });
});

describe('functions/train/selfcheck.ts: which native files the process mapped', () => {
  const dir = '/var/task/node_modules/@tensorflow/tfjs-node';
  const mapsWith = (...files: string[]) => {
    const file = path.join(fs.mkdtempSync(path.join(REPO_ROOT, 'out', 'maps-')), 'maps');
    fs.writeFileSync(file, files.map((f, i) => `7f${i}000-7f${i}fff r-xp 00000000 08:01 ${100 + i}                    ${f}`).join('\n') + '\n');
    return file;
  };
  before(() => fs.mkdirSync(path.join(REPO_ROOT, 'out'), { recursive: true }));

  test('lists the addon and both libraries when all come from the tfjs-node beside the bundles', () => {
    const files = [`${dir}/deps/lib/libtensorflow_framework.so.2`, `${dir}/deps/lib/libtensorflow_cc.so.2`, `${dir}/lib/napi-v8/tfjs_binding.node`, '/usr/lib64/libc.so.6'];
    const maps = mapsWith(...files);
    assert.deepEqual(nativeFilesLoaded(dir, maps), files.slice(0, 3).sort());
    fs.rmSync(path.dirname(maps), { recursive: true });
  });

  test('fails on a library from elsewhere, and when a library is not mapped', () => {
    const elsewhere = mapsWith(`${dir}/deps/lib/libtensorflow_cc.so.2`, '/usr/local/lib/libtensorflow_framework.so.2');
    assert.throws(() => nativeFilesLoaded(dir, elsewhere), /loaded from outside .*\/usr\/local\/lib\/libtensorflow_framework/);
    const missing = mapsWith(`${dir}/lib/napi-v8/tfjs_binding.node`);
    assert.throws(() => nativeFilesLoaded(dir, missing), /not mapped/);
    for (const f of [elsewhere, missing]) fs.rmSync(path.dirname(f), { recursive: true });
    assert.equal(nativeFilesLoaded(dir, '/nonexistent/maps'), undefined);
  });
});
