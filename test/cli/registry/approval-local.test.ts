import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startLocalS3 } from '../../../cli/local/local-s3.ts';
import { localRunNotePath, type LocalRunNote } from '../../../cli/local-run-note.ts';
import { answerApproval } from '../../../cli/registry/approval.ts';
import { openRegistry, type RegistryTarget } from '../../../cli/registry/target.ts';
import { ConfigError } from '../../../lib/errors.ts';
import { writeApprovalRequest } from '../../../lib/workflow/registry/approval-request.ts';

/**
 * `fmnist models approve|reject` of a local run that cannot be answered: the run must be running
 * on this machine, with its cloud up (its note names the control plane), and still waiting.
 * (Answering a waiting run is test/cli/local/approval-e2e.test.ts.)
 */
const RUN = '20261203T070000Z-abc123';
let stateDir: string;
let target: RegistryTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'fmnist-approval-local-'));
  const s3 = await startLocalS3({ directory: stateDir });
  try {
    await writeApprovalRequest(s3.client, s3.bucket, {
      runId: RUN,
      testSetId: 'cd'.repeat(32),
      executionName: RUN,
      taskToken: 'AQtoken',
      requestedAt: '2026-12-03T07:00:00.000Z',
      expiresAt: '2099-01-01T00:00:00.000Z',
      accuracy: 0.8,
      macroF1: 0.79,
      reportPrefix: `runs/${RUN}/report/`,
    });
  } finally {
    await s3.stop();
  }
  target = await openRegistry({ stateDir });
});
after(async () => {
  await target?.close();
  await rm(stateDir, { recursive: true, force: true });
});

async function writeNote(note: Partial<LocalRunNote>): Promise<void> {
  const full = { runId: RUN, outDir: '/tmp/out', pid: process.pid, host: hostname(), startedAt: '2026-12-03T07:00:00.000Z', ...note };
  await writeFile(localRunNotePath(stateDir, RUN), JSON.stringify(full));
}

const refused = (message: RegExp) =>
  assert.rejects(answerApproval(target, RUN, 'approved'), (error: Error) => {
    assert.ok(error instanceof ConfigError, `${error.name}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });

describe('approving a local run that cannot be answered', () => {
  test('no request for the run: names where it looked', async () => {
    await assert.rejects(answerApproval(target, 'other-run', 'rejected'), new RegExp(`run other-run is not waiting for approval \\(no request at the local bucket at ${stateDir}/models/approvals/other-run\\.json\\)`));
  });

  test('no note: not running', async () => {
    await rm(localRunNotePath(stateDir, RUN), { force: true });
    await refused(new RegExp(`run ${RUN} is not running: no note of it in ${stateDir}`));
  });

  test("the note's process has ended: not running, resume it", async () => {
    const { pid } = spawnSync(process.execPath, ['-e', '']);
    await writeNote({ pid, controlPlane: 'http://127.0.0.1:9' });
    await refused(new RegExp(`run ${RUN} is not running: its process \\(pid ${pid} on ${hostname()}\\) has ended; \`fmnist resume ${RUN}\``));
  });

  test('the run runs on another host: answer it there', async () => {
    await writeNote({ host: `not-${hostname()}`, controlPlane: 'http://127.0.0.1:9' });
    await refused(/not running here: its note says host not-/);
  });

  test('the run is alive but its cloud has not started (no endpoint in its note)', async () => {
    await writeNote({});
    await refused(/its local cloud has not started yet/);
  });

  test('the run is alive but its control plane is gone: no longer waiting', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    await writeNote({ controlPlane: `http://127.0.0.1:${port}` });
    await refused(new RegExp(`run ${RUN} is no longer waiting \\(answered already, timed out or stopped\\): .*ECONNREFUSED`));
  });
});
