import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlobalFonts } from '@napi-rs/canvas';

/**
 * The family name charts must use. Registered under a project-specific alias, not "DejaVu Sans",
 * so that text can only render through the shipped file: a system copy of DejaVu on a developer
 * machine cannot hide a font that would be missing on Lambda, which has no system fonts.
 */
export const REPORT_FONT_FAMILY = 'FMNIST Report Sans';

export const REPORT_FONT_FILE = 'DejaVuSans.ttf';

/** Where the font is read from: $FMNIST_FONT_DIR (a Lambda layer puts it at /opt/fonts), else the repo's assets/fonts. */
export function reportFontDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['FMNIST_FONT_DIR'];
  if (override !== undefined && override !== '') return override;
  return fileURLToPath(new URL('../../assets/fonts/', import.meta.url));
}

let registered = false;

/**
 * Registers the shipped font with @napi-rs/canvas once per process and returns the family name
 * to put in `ctx.font`. Throws if the file is missing: a chart without a font would silently
 * come out with no text at all.
 */
export function ensureReportFont(): string {
  if (registered) return REPORT_FONT_FAMILY;
  const fontPath = join(reportFontDir(), REPORT_FONT_FILE);
  if (!existsSync(fontPath)) {
    throw new Error(`Report font not found at ${fontPath}; ship assets/fonts/${REPORT_FONT_FILE} or set FMNIST_FONT_DIR`);
  }
  if (GlobalFonts.registerFromPath(fontPath, REPORT_FONT_FAMILY) === null) {
    throw new Error(`Report font at ${fontPath} could not be loaded`);
  }
  registered = true;
  return REPORT_FONT_FAMILY;
}
