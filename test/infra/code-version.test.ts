import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { codeVersion } from '../../infra/code-version.ts';
import { repoPath } from '../../infra/paths.ts';

test('the code version is package.json\'s version, the commit, and ".dirty" exactly when tracked files changed', () => {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoPath(), encoding: 'utf8' }).trim();
  const { version } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8'));
  const commit = git('rev-parse', '--short=12', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  assert.equal(codeVersion(), `${version}+${commit}${dirty ? '.dirty' : ''}`);
  assert.equal(codeVersion(), codeVersion(), 'read once per process');
});
