import type { IncomingHttpHeaders } from 'node:http';

/**
 * The parts of s3rver 3.7 that middleware here rely on (the package ships no types). s3rver is a
 * Koa app (`class S3rver extends Koa`): `middleware` is Koa's array, composed once when the
 * server starts listening, so entries put in front of it before `run()` see every request first.
 */
export interface S3rverApp {
  middleware: unknown[];
}

/** s3rver's FilesystemStore (lib/stores/filesystem.js), the methods used here. */
export interface S3rverStore {
  /** Where a key's file of this kind lives: `<dir of the key>/<last segment>._S3rver_<resource>`. */
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  /** Rejects with code ENOENT when no object has the key. `etag` is quoted, as S3 sends it. */
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  putObject(object: { bucket: string; key: string; content: unknown }): Promise<unknown>;
  putObjectMultipart(bucket: string, uploadId: string, parts: unknown): Promise<unknown>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata: unknown): Promise<unknown>;
}

/** s3rver's Koa context, the fields used here. */
export interface S3rverContext {
  readonly headers: IncomingHttpHeaders;
  /** Set by s3rver's router, so only once the front middleware have called next(). */
  readonly params?: { readonly bucket?: string; readonly key?: string };
  /** s3rver's controllers write through `ctx.store`; a middleware may give a request its own. */
  store: S3rverStore;
}

export type S3rverMiddleware = (ctx: S3rverContext, next: () => Promise<void>) => Promise<void>;

/** Installs `middleware`, in this order, in front of s3rver's own. Call before `run()`. */
export function installBefore(app: S3rverApp, middleware: readonly S3rverMiddleware[]): void {
  app.middleware.unshift(...middleware);
}
