import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GlobalFonts } from '@napi-rs/canvas';
import { DEFAULT_REPORT_FONT_DIR, ensureReportFont, REPORT_FONT_FAMILY, REPORT_FONT_FILE, reportFontDir, useReportFontDir } from '../../lib/report/fonts.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FONT_DIR = join(REPO_ROOT, 'assets/fonts');

describe('report font', () => {
  it('ships DejaVu Sans with its licence', () => {
    const font = readFileSync(join(FONT_DIR, REPORT_FONT_FILE));
    assert.equal(font.readUInt32BE(0), 0x00010000, 'a TrueType file');
    assert.match(readFileSync(join(FONT_DIR, 'LICENSE-DejaVu.txt'), 'utf8'), /Bitstream Vera/);
  });

  it('is read from the repo by default and from the directory the edge names (FMNIST_FONT_DIR in the evaluate handler)', () => {
    assert.equal(DEFAULT_REPORT_FONT_DIR.replace(/\/$/, ''), FONT_DIR);
    useReportFontDir('/opt/fonts');
    assert.equal(reportFontDir(), '/opt/fonts');
    useReportFontDir(undefined);
    assert.equal(reportFontDir(), DEFAULT_REPORT_FONT_DIR);
    useReportFontDir('');
    assert.equal(reportFontDir(), DEFAULT_REPORT_FONT_DIR);
    assert.ok(existsSync(join(reportFontDir(), REPORT_FONT_FILE)));
  });

  it('registers under its own family name, once', () => {
    assert.equal(ensureReportFont(), REPORT_FONT_FAMILY);
    assert.equal(ensureReportFont(), REPORT_FONT_FAMILY);
    assert.ok(GlobalFonts.has(REPORT_FONT_FAMILY));
    assert.equal(GlobalFonts.families.filter((f) => f.family === REPORT_FONT_FAMILY).length, 1);
  });

  it('fails loudly when the font directory has no font (e.g. a missing Lambda layer)', async () => {
    // A fresh process, since the font registers once per process.
    const script =
      `import { useReportFontDir } from './lib/report/fonts.ts';` +
      `import { renderConfusionMatrixPng } from './lib/report/charts/confusion-matrix.ts';` +
      `useReportFontDir(process.env.FMNIST_FONT_DIR); renderConfusionMatrixPng([[1]]);`;
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, FMNIST_FONT_DIR: '/nonexistent/fonts' },
    });
    await assert.rejects(run, /Report font not found at \/nonexistent\/fonts\/DejaVuSans\.ttf/);
  });

  it('refuses another directory once the font is registered (it would not take effect)', () => {
    ensureReportFont();
    assert.throws(() => useReportFontDir('/opt/fonts'), /already registered from/);
    useReportFontDir(DEFAULT_REPORT_FONT_DIR); // the same: fine
  });
});
