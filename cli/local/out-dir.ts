import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.ts';

/**
 * A local run's output directory belongs to one run id: `run --out DIR` once silently replaced
 * an earlier run's model and report. The first run to use a directory records its id there
 * (OWNER_FILE, before any work); a later run with another id is refused, naming both; the same
 * run id (a resume) may write into it again. Directories written before the record existed are
 * recognised by their local-run.json / run.json.
 */
export const OWNER_FILE = '.fmnist-run.json';

export async function claimOutDir(outDir: string, runId: string): Promise<void> {
  const owner = await ownerOf(outDir);
  if (owner !== undefined && owner !== runId) {
    throw new ConfigError(`${outDir} holds the outputs of run ${owner}: refusing to write run ${runId} over them; choose another --out or remove it`);
  }
  if (owner === undefined) {
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, OWNER_FILE), JSON.stringify({ runId }) + '\n');
  }
}

/** The run id recorded in `outDir`, if any. */
export async function ownerOf(outDir: string): Promise<string | undefined> {
  for (const [file, field] of [
    [OWNER_FILE, 'runId'],
    ['run.json', 'runId'],
    ['local-run.json', 'runId'],
    ['local-run.json', 'executionName'],
  ] as const) {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(await readFile(join(outDir, file), 'utf8')) as Record<string, unknown>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) continue;
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new ConfigError(`${outDir} exists and is not a directory`);
      throw error;
    }
    if (typeof record?.[field] === 'string') return record[field] as string;
  }
  return undefined;
}
