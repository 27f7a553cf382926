import { createHash } from 'node:crypto';
import { codeVersion } from '../../infra/code-version.ts';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import type { AslDefinition } from '../../infra/synthesized-definition.ts';
import { REPO_ROOT } from '../../infra/paths.ts';
import type { Template } from './cloud/template.ts';

/**
 * The state machine definition the local runner executes: the one `cdk synth` puts in the
 * template (infra/synthesized-definition.ts synthesizes the stack in-process, without
 * bundling the Lambda code and without CloudFormation validation).
 *
 * Synthesizing costs about 3 s here (1.8 s importing aws-cdk-lib, 0.9 s synth), so the result
 * is cached, keyed by the content of every source file the synthesis imports (found by following
 * the relative `.ts` imports from synthesized-definition.ts), cdk.json, the aws-cdk-lib version
 * and the extra context. Any edit to the infrastructure code changes the key: the cache cannot
 * serve a definition that differs from what `cdk synth` would produce now. A warm `npm start`
 * does not even load aws-cdk-lib.
 */
export type { AslDefinition };

export interface LoadDefinitionOptions {
  /** Extra CDK context, e.g. { lambdaTrainMaxImages: 50 } (as `-c key=value` would). */
  context?: Record<string, unknown>;
  /** Cache directory, or false to always synthesize. Default node_modules/.cache/fmnist-local/. */
  cacheDir?: string | false;
}

export interface LoadedTemplate {
  template: Template;
  /** 'cache' or 'synth' */
  source: 'cache' | 'synth';
  /** The cache key (sha256 of the inputs). */
  key: string;
  milliseconds: number;
}

export interface LoadedDefinition {
  definition: AslDefinition;
  /** 'cache' or 'synth' */
  source: 'cache' | 'synth';
  /** The cache key (sha256 of the inputs). */
  key: string;
  milliseconds: number;
}

const ENTRY = join(REPO_ROOT, 'infra', 'synthesized-definition.ts');
export const DEFAULT_DEFINITION_CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'fmnist-local');

/**
 * The stack's CloudFormation template, as `cdk synth` renders it now (no bundling): what the local
 * cloud deploys. Cached by the content of every input to the synthesis.
 */
export async function loadStackTemplate(options: LoadDefinitionOptions = {}): Promise<LoadedTemplate> {
  const started = performance.now();
  const key = await definitionCacheKey(options.context ?? {});
  const cacheDir = options.cacheDir === undefined ? DEFAULT_DEFINITION_CACHE_DIR : options.cacheDir;
  const cacheFile = cacheDir === false ? undefined : join(cacheDir, `template-${key.slice(0, 32)}.json`);
  if (cacheFile) {
    const cached = await readFile(cacheFile, 'utf8').catch(() => undefined);
    if (cached !== undefined) {
      try {
        const parsed = JSON.parse(cached) as { key?: string; template?: Template };
        if (parsed.key === key && parsed.template?.Resources) {
          return { template: parsed.template, source: 'cache', key, milliseconds: performance.now() - started };
        }
      } catch {
        // a torn or foreign file: synthesize again and overwrite it
      }
    }
  }
  const { synthesizeStack } = await import('../../infra/synthesized-definition.ts');
  const synthesized = synthesizeStack({ context: options.context });
  let template: Template;
  try {
    template = synthesized.template.toJSON() as Template;
  } finally {
    synthesized.cleanup();
  }
  if (cacheFile) {
    try {
      await mkdir(dirname(cacheFile), { recursive: true });
      const temp = `${cacheFile}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify({ key, template }) + '\n');
      await rename(temp, cacheFile);
    } catch {
      // a read-only checkout still runs, it just synthesizes every time
    }
  }
  return { template, source: 'synth', key, milliseconds: performance.now() - started };
}

/** The state machine definition of the stack's template, references as placeholders (see definitionFromTemplate). */
export async function loadWorkflowDefinition(options: LoadDefinitionOptions = {}): Promise<LoadedDefinition> {
  const loaded = await loadStackTemplate(options);
  const { definitionFromTemplate } = await import('../../infra/synthesized-definition.ts');
  const definition = definitionFromTemplate(loaded.template as never);
  return { definition, source: loaded.source, key: loaded.key, milliseconds: loaded.milliseconds };
}

/** sha256 over the synthesis inputs (see the module comment). */
export async function definitionCacheKey(context: Record<string, unknown>): Promise<string> {
  const hash = createHash('sha256');
  hash.update('fmnist-local-template-v2\n');
  for (const file of await importClosure(ENTRY)) {
    hash.update(`${relative(REPO_ROOT, file)}\n`);
    hash.update(await readFile(file));
    hash.update('\n');
  }
  hash.update(await readFile(join(REPO_ROOT, 'cdk.json')));
  hash.update(`\naws-cdk-lib ${packageVersion('aws-cdk-lib')}\nconstructs ${packageVersion('constructs')}\n`);
  hash.update(JSON.stringify(sortKeys(context)));
  // The template carries FMNIST_CODE_VERSION (the commit): a new commit is a new template.
  hash.update(`\n${codeVersion()}`);
  return hash.digest('hex');
}

/** The entry file and every project file it reaches through static relative `.ts` imports, sorted. */
export async function importClosure(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const pending = [resolve(entry)];
  const importPattern = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g;
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(importPattern)) pending.push(resolve(dirname(file), match[1]));
  }
  return [...seen].sort();
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
