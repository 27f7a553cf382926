import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { REPO_ROOT } from '../../infra/paths.ts';

const run = promisify(execFile);
const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO_ROOT, env: { ...process.env, FMNIST_DEBUG: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '', ...env } });

/** Emits tfjs-node's deprecation on any Node.js version, and another one that must still show. */
const EMIT = [
  "process.emitWarning('util.isNullOrUndefined is deprecated', { type: 'DeprecationWarning', code: 'DEP0051' });",
  "process.emitWarning('something else is deprecated', 'DeprecationWarning', 'DEP0999');",
].join(' ');

test('start-up notices that are not the user\'s business stay hidden; other warnings and FMNIST_DEBUG=1 show', async () => {
  const script = `await import('./cli/quiet-start.ts'); ${EMIT}`;
  const quiet = await node(['--input-type=module', '-e', script]);
  assert.doesNotMatch(quiet.stderr, /DEP0051/);
  assert.match(quiet.stderr, /DEP0999/);
  const debug = await node(['--input-type=module', '-e', script], { FMNIST_DEBUG: '1' });
  assert.match(debug.stderr, /DEP0051/);
});

test('the AWS SDK\'s Node.js version notice does not reach the terminal of an fmnist command', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'fmnist-quiet-'));
  try {
    // Any command that builds an SDK client: `runs list` on an empty local bucket.
    const quiet = await node(['bin/fmnist.ts', 'runs', 'list', '--state-dir', stateDir]);
    assert.doesNotMatch(quiet.stderr, /NodeVersionSupportWarning|Warning:/);
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) {
      // The SDK does print it where it applies: the check above is not passing vacuously.
      const debug = await node(['bin/fmnist.ts', 'runs', 'list', '--state-dir', stateDir], { FMNIST_DEBUG: '1' });
      assert.match(debug.stderr, /NodeVersionSupportWarning/);
    }
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
