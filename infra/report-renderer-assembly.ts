import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './paths.ts';

/**
 * The report-renderer layer's contents, assembled from node_modules and assets/ (no CDK here:
 * the local runtime assembles the layer too, to mount it where Lambda unpacks layers).
 */
export const CANVAS_NATIVE_PACKAGE = '@napi-rs/canvas-linux-x64-gnu';

/** Copies canvas, its linux-x64-gnu binary and the fonts into `outputDir` (the layer's root). */
export function assembleReportRendererLayer(outputDir: string): boolean {
  const modules = repoPath('node_modules', '@napi-rs');
  const canvas = join(modules, 'canvas');
  const native = join(modules, CANVAS_NATIVE_PACKAGE.split('/')[1]);
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  if (!existsSync(canvas)) throw new Error('report-renderer layer: @napi-rs/canvas is not installed (npm ci)');
  const wanted = version(canvas);
  if (!existsSync(native) || version(native) !== wanted) {
    throw new Error(
      `report-renderer layer: ${CANVAS_NATIVE_PACKAGE}@${wanted} is not in node_modules. Install it with\n` +
        `  npm install --no-save --os=linux --cpu=x64 --libc=glibc ${CANVAS_NATIVE_PACKAGE}@${wanted}`,
    );
  }
  const target = join(outputDir, 'nodejs', 'node_modules', '@napi-rs');
  mkdirSync(target, { recursive: true });
  cpSync(canvas, join(target, 'canvas'), { recursive: true });
  cpSync(native, join(target, 'canvas-linux-x64-gnu'), { recursive: true });
  cpSync(repoPath('assets', 'fonts'), join(outputDir, 'fonts'), { recursive: true });
  return true;
}
