import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localRunNotePath, readLocalRunNote, writeLocalRunNote } from '../../cli/local-run-note.ts';

test('a local run note round-trips; a bad one is refused naming the field, the run and the remedy', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fmnist-note-'));
  try {
    assert.equal(await readLocalRunNote(dir, 'run-1'), undefined);
    const written = await writeLocalRunNote(dir, { runId: 'run-1', outDir: '/tmp/out' });
    assert.deepEqual(await readLocalRunNote(dir, 'run-1'), written);

    await writeFile(localRunNotePath(dir, 'run-1'), JSON.stringify({ ...written, pid: 0 }));
    await assert.rejects(readLocalRunNote(dir, 'run-1'), /fmnist-run\.run-1\.json is not a note of run run-1 \(pid: .*\): remove it, and pass --out/);

    await writeFile(localRunNotePath(dir, 'run-1'), JSON.stringify({ ...written, outdir: '/x' }));
    await assert.rejects(readLocalRunNote(dir, 'run-1'), /outdir: /);

    await writeFile(localRunNotePath(dir, 'run-1'), JSON.stringify({ ...written, runId: 'run-2' }));
    await assert.rejects(readLocalRunNote(dir, 'run-1'), /is not a note of run run-1 \(it names run run-2\)/);

    await writeFile(localRunNotePath(dir, 'run-1'), '{');
    await assert.rejects(readLocalRunNote(dir, 'run-1'), /fmnist-run\.run-1\.json is not valid JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
