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

/** The repository's assets/fonts: where the font is read from unless the edge says otherwise. */
export const DEFAULT_REPORT_FONT_DIR = fileURLToPath(new URL('../../assets/fonts/', import.meta.url));

let fontDir = DEFAULT_REPORT_FONT_DIR;
let registered = false;

/**
 * Where the font is read from, said by the edge that knows: the evaluate handler passes
 * $FMNIST_FONT_DIR (its Lambda layer puts the font at /opt/fonts). Undefined or empty: the
 * default. Before the first chart; later it would not change the font already registered.
 */
export function useReportFontDir(dir: string | undefined): void {
  if (registered && (dir || DEFAULT_REPORT_FONT_DIR) !== fontDir) throw new Error(`the report font is already registered from ${fontDir}`);
  fontDir = dir || DEFAULT_REPORT_FONT_DIR;
}

/** The directory the font is (or will be) registered from. */
export function reportFontDir(): string {
  return fontDir;
}

/**
 * Registers the shipped font with @napi-rs/canvas once per process and returns the family name
 * to put in `ctx.font`. Throws if the file is missing: a chart without a font would silently
 * come out with no text at all.
 */
export function ensureReportFont(): string {
  if (registered) return REPORT_FONT_FAMILY;
  const fontPath = join(fontDir, REPORT_FONT_FILE);
  if (!existsSync(fontPath)) {
    throw new Error(`Report font not found at ${fontPath}; ship assets/fonts/${REPORT_FONT_FILE} or set FMNIST_FONT_DIR`);
  }
  if (GlobalFonts.registerFromPath(fontPath, REPORT_FONT_FAMILY) === null) {
    throw new Error(`Report font at ${fontPath} could not be loaded`);
  }
  registered = true;
  return REPORT_FONT_FAMILY;
}
