import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (the CDK project root, the Docker build context, esbuild's working dir). */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export const repoPath = (...parts: string[]) => join(REPO_ROOT, ...parts);

/**
 * Template metadata naming a bundled function's source entry (repository-relative), e.g.
 * functions/ingest/handler.ts: the bundle hides it, and the local runtime runs the source.
 */
export const SOURCE_ENTRY_METADATA = 'fmnist:entry';

/**
 * Template metadata on a Lambda layer naming the CDK-free module and export that assemble its
 * contents into a directory ({ module, exportName }): the local runtime mounts the result where
 * Lambda would unpack the layer (/opt).
 */
export const LAYER_ASSEMBLER_METADATA = 'fmnist:layer-assembler';
