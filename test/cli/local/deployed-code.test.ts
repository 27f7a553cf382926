import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../../infra/paths.ts';
import { importClosure } from '../../../cli/local/definition.ts';

/**
 * Nothing deployed may load the local runtime: its IAM simulator (@cloud-copilot/iam-simulate)
 * is AGPL-3.0 and a development dependency only. The deployed code is what the Lambda bundles and
 * the training image are built from: every functions/<step>/handler.ts and the Fargate entry.
 */
test('no deployed entry reaches cli/, infra/, bin/ or an AGPL package through its imports', async () => {
  const steps = (await readdir(join(REPO_ROOT, 'functions'), { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const entries = [...steps.map((step) => join(REPO_ROOT, 'functions', step, 'handler.ts')), join(REPO_ROOT, 'functions/train/fargate.ts')];
  assert.ok(entries.length >= 8, entries.join(', '));
  for (const entry of entries) {
    const files = await importClosure(entry);
    assert.ok(files.length > 1, `${entry} imports project code`);
    for (const file of files) {
      const path = relative(REPO_ROOT, file);
      assert.ok(/^(functions|lib)\//.test(path), `${relative(REPO_ROOT, entry)} reaches ${path}`);
      const text = await readFile(file, 'utf8');
      assert.ok(!/from\s+['"]@cloud-copilot\//.test(text), `${path} imports @cloud-copilot`);
      // Local sandboxes have an IPC pipe (the progress relay) that AWS never gives: code that
      // used it would work here and not there.
      assert.ok(!/process\.(send|connected|channel)\b/.test(text), `${path} uses the IPC pipe, which no function or task has on AWS`);
    }
  }
});
