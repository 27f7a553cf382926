/**
 * Keeps a terminal free of notices that are not the user's business: the AWS SDK's "Node.js 20
 * will not be supported by versions published after January 2027" (our SDK versions are pinned by
 * the lockfile; Lambda runs Node.js 22) and Node.js 22's DEP0051 for tfjs-node's own use of
 * util.isNullOrUndefined. FMNIST_DEBUG=1 shows them. Imported first by bin/fmnist.ts: the SDK
 * checks once, when its first client is built.
 */
const QUIET_DEPRECATIONS = new Set(['DEP0051']);

if (process.env.FMNIST_DEBUG !== '1') {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    const code = typeof options === 'object' && options !== null ? (options as { code?: string }).code : rest[1];
    if (typeof code === 'string' && QUIET_DEPRECATIONS.has(code)) return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

export {};
