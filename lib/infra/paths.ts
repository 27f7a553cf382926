import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (the CDK project root, the Docker build context, esbuild's working dir). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const repoPath = (...parts: string[]) => join(REPO_ROOT, ...parts);
