import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { until } from '../support/until.ts';
import { deadPid, fmnist, startCli } from './support/spawn-cli.ts';

/**
 * Interrupted commands leave nothing behind: SIGINT and SIGTERM clean up and exit 128 + signal;
 * after SIGKILL (no cleanup possible) the next command recovers or sweeps what is left.
 */
describe('fmnist CLI: interrupted work leaves nothing stale', () => {
  let dir: string;
  const train = syntheticKaggleCsv(60, 7);
  const testSet = syntheticKaggleCsv(20, 8);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fmnist-interrupts-'));
    await writeFile(join(dir, 'train.csv'), train.text);
    await writeFile(join(dir, 'test.csv'), testSet.text);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const hidden = async (parent: string, name: string) => (await readdir(parent)).filter((entry) => entry.startsWith(`.${name}.`));

  /**
   * `ingest` reading a pipe that the test feeds: it stays mid-ingest (its staging directory
   * there, rows read) until the test stops it.
   */
  async function ingestInProgress(parent: string, name: string) {
    await mkdir(parent, { recursive: true });
    const fifo = join(parent, `${name}-train.fifo`);
    execFileSync('mkfifo', [fifo]);
    const cli = startCli(['ingest', '--train', fifo, '--test', join(dir, 'test.csv'), '--out', join(parent, name)]);
    const feed = createWriteStream(fifo);
    feed.on('error', () => {}); // EPIPE once the reader is gone
    feed.write(train.text.split('\n').slice(0, 20).join('\n') + '\n');
    await until('the staging directory', async () => ((await hidden(parent, name)).some((entry) => entry.includes('.staging-')) ? true : undefined));
    // And the pipe open at both ends: an open() of a FIFO waits in a libuv thread for its reader,
    // so a reader killed before it opened the pipe would keep this test process from exiting.
    await until('the ingest to open its input', () => (feed.pending ? undefined : true));
    return { cli, feed };
  }

  // Ctrl-C here; SIGTERM, which the same handler serves, in the run test below.
  for (const [signal, code] of [['SIGINT', 130]] as const) {
    test(`${signal} during ingest removes its staging directory and exits ${code}`, async () => {
      const parent = join(dir, signal);
      const { cli, feed } = await ingestInProgress(parent, 'ds');
      cli.child.kill(signal);
      // The cleanup runs before the exit; then close the pipe: a read blocked on an open FIFO holds
      // a libuv thread, which Node joins on exit (a read of a regular file always returns). Closed
      // earlier, the ingest could see the end of its input and finish before the signal.
      await until('the cleanup', async () => ((await hidden(parent, 'ds')).length === 0 ? true : undefined));
      feed.destroy();
      const result = await cli.done;
      assert.equal(result.code, code, result.stderr);
      assert.deepEqual(await hidden(parent, 'ds'), []);
      assert.equal(existsSync(join(parent, 'ds')), false);
    });
  }

  test('SIGKILL during ingest: the staging directory stays, and the next ingest sweeps it', async () => {
    const parent = join(dir, 'killed');
    const { cli, feed } = await ingestInProgress(parent, 'ds');
    cli.child.kill('SIGKILL');
    feed.destroy();
    await cli.done;
    assert.equal((await hidden(parent, 'ds')).length, 1, 'SIGKILL runs no cleanup');
    const again = await fmnist(['ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--out', join(parent, 'ds')]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await hidden(parent, 'ds'), []);
    assert.ok(existsSync(join(parent, 'ds', 'manifest.json')));
  });

  test('killed between the two renames of a replace: the next start puts the old dataset back, and refuses to replace it with other data', async () => {
    const parent = join(dir, 'replace');
    const out = join(parent, 'ds');
    assert.equal((await fmnist(['ingest', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--out', out])).code, 0);
    const manifest = await readFile(join(out, 'manifest.json'), 'utf8');
    // What a kill right after `rename(out, aside)` leaves: the dataset aside, the output missing.
    await rename(out, join(parent, `.ds.old-${await deadPid()}-0a1b2c3d`));
    await writeFile(join(dir, 'other.csv'), syntheticKaggleCsv(30, 9).text);
    const other = await fmnist(['ingest', '--train', join(dir, 'other.csv'), '--test', join(dir, 'test.csv'), '--out', out]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, new RegExp(`already holds dataset ${JSON.parse(manifest).datasetId}.*\\(\`fmnist ingest --replace\``));
    assert.equal(await readFile(join(out, 'manifest.json'), 'utf8'), manifest, 'the old dataset is back, unchanged');
    assert.deepEqual(await hidden(parent, 'ds'), []);
    // The flag the message names does replace it.
    const replaced = await fmnist(['ingest', '--train', join(dir, 'other.csv'), '--test', join(dir, 'test.csv'), '--out', out, '--replace']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.notEqual(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')).datasetId, JSON.parse(manifest).datasetId);
  });

  describe('run --fresh', () => {
    let scratchTmp: string;
    let config: string;
    const args = () => ['run', '--train', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--epochs', '1', '--batch-size', '16', '--config', config, '--fresh'];
    const temporaryBuckets = async () => (await readdir(scratchTmp)).filter((name) => name.startsWith('fmnist-s3-'));

    before(async () => {
      // The runs' temporary directory, so their temporary buckets can be counted.
      scratchTmp = join(dir, 'tmp');
      await mkdir(scratchTmp);
      config = join(dir, 'tiny.json');
      const { TINY_MODEL } = await import('../support/tiny-model.ts');
      await writeFile(config, JSON.stringify({ model: TINY_MODEL }));
    });

    test('SIGTERM aborts the execution, removes the temporary bucket and exits 143', async () => {
      const cli = startCli([...args(), '--out', join(dir, 'run-term')], { TMPDIR: scratchTmp });
      await until('the execution to start', () => (/local run \S+: stack/.test(cli.stderr()) ? true : undefined));
      assert.equal((await temporaryBuckets()).length, 1);
      cli.child.kill('SIGTERM');
      const result = await cli.done;
      assert.equal(result.code, 143, result.stderr);
      assert.match(result.stderr, /ABORTED/);
      assert.deepEqual(await temporaryBuckets(), []);
    });

    test('SIGKILL leaves the temporary bucket; the next run sweeps it', async () => {
      const cli = startCli([...args(), '--out', join(dir, 'run-kill')], { TMPDIR: scratchTmp });
      await until('the temporary bucket', async () => ((await temporaryBuckets()).length > 0 ? true : undefined));
      cli.child.kill('SIGKILL');
      await cli.done;
      assert.equal((await temporaryBuckets()).length, 1, 'SIGKILL runs no cleanup');
      const next = await fmnist([...args(), '--out', join(dir, 'run-next')], { TMPDIR: scratchTmp });
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual(await temporaryBuckets(), []);
    });
  });
});
