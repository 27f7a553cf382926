import { getObjectVersion, s3Url, sha256Hex } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import { CHAMPION_FILES, type Champion, type PinnedFiles } from '../../lib/workflow/promotion.ts';
import type { RegistryTarget } from './target.ts';

/**
 * What `promote` and `rollback` decide, apart from how they write: the files a new champion pins
 * must still be the ones registered, and which champion a rollback goes back to.
 */

/**
 * Checks that each pinned file is still in the bucket as pinned: fetched at its version id (where
 * the bucket gave one) with the same sha256. A champion whose files are gone or changed would
 * fail every consumer (fetchChampionFiles), so it is refused here, naming the file.
 */
export async function verifyPinnedFiles(target: RegistryTarget, runId: string, modelPrefix: string, files: PinnedFiles): Promise<void> {
  for (const name of CHAMPION_FILES) {
    const pinned = files[name];
    const location = { bucket: target.bucket, key: modelPrefix + name };
    const where = `${s3Url(location)}${pinned.versionId ? ` (version ${pinned.versionId})` : ''}`;
    const stored = await getObjectVersion(target.s3, location, pinned.versionId ?? undefined);
    if (stored === undefined) throw new ConfigError(`cannot make run ${runId} champion: ${where} no longer exists`);
    const sha256 = sha256Hex(stored.bytes);
    if (sha256 !== pinned.sha256 || (pinned.versionId !== null && stored.versionId !== pinned.versionId)) {
      throw new ConfigError(
        `cannot make run ${runId} champion: ${where} has sha256 ${sha256} (version ${stored.versionId ?? 'none'}), the registry pins ${pinned.sha256}: the model file changed after the run was registered`,
      );
    }
  }
}

/**
 * The champion a rollback returns to. The history (oldest first) is replayed as a stack of the
 * promotions still in effect: a promotion pushes its run; a rollback removes every entry of the
 * run it rolled back from (so a model once rolled back from is never brought back by a rollback,
 * only by a person promoting it again) and leaves the run it went back to on top. The target is
 * the entry under the current champion. So with A → B → C, a rollback goes to B, the next to A,
 * and one more finds nothing.
 */
export function rollbackTarget(history: Champion[], current: Champion): Champion | undefined {
  const stack: Champion[] = [];
  const top = () => stack[stack.length - 1];
  for (const record of history) {
    if (record.change === 'rollback' && record.previous !== null) {
      for (let i = stack.length - 1; i >= 0; i--) if (stack[i].runId === record.previous) stack.splice(i, 1);
    }
    if (top()?.runId !== record.runId) stack.push(record);
  }
  // changeChampion files the current champion before deciding, so it is on top; were its record
  // missing (a clock that went backwards), the champion in effect still counts as the latest.
  if (top()?.runId !== current.runId) stack.push(current);
  return stack[stack.length - 2];
}
