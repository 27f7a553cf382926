import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoPath } from './paths.ts';

/**
 * The version of the code being deployed, recorded by every registered model and shown in the
 * report page's lineage: package.json's version, plus the git commit when the synth runs in a
 * checkout (`.dirty` when it has uncommitted changes). Read once per process.
 */
let memo: string | undefined;

export function codeVersion(): string {
  if (memo !== undefined) return memo;
  const { version } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
  try {
    // One git process (the local runtime asks on every run, for its template cache key): the
    // commit, and ".dirty" when tracked files changed. --match on no tag: always the bare commit.
    const described = execFileSync('git', ['describe', '--always', '--abbrev=12', '--dirty=.dirty', '--match=fmnist-no-tag'], {
      cwd: repoPath(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    memo = `${version}+${described}`;
  } catch {
    memo = version;
  }
  return memo;
}
