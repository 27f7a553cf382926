import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoPath } from './paths.ts';

/**
 * The version of the code being deployed, recorded by every registered model and shown in the
 * report page's lineage: package.json's version, plus the git commit when the synth runs in a
 * checkout (`+dirty` when it has uncommitted changes). Read once per synth.
 */
export function codeVersion(): string {
  const { version } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short=12', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${version}+${commit}${dirty ? '.dirty' : ''}`;
  } catch {
    return version;
  }
}
