import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { withFileLock } from '../state-lock.ts';
import { KEY_LOCK_SUFFIX } from './atomic-store.ts';
import { KeyedLock } from './keyed-lock.ts';
import type { S3rverContext, S3rverMiddleware, S3rverStore } from './s3rver-app.ts';
import { readWriteCondition, refusal, type S3ErrorSpec, type WriteCondition } from './write-preconditions.ts';

const require = createRequire(import.meta.url);
/** s3rver's error class: its error handler renders instances as S3 error XML with their status. */
const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail: Record<string, string>) => Error;

/**
 * S3's conditional writes for s3rver, which ignores If-None-Match and If-Match on writes
 * (semantics and sources: ./write-preconditions.ts). Each request gets a store whose three
 * whole-object writes (PutObject, CompleteMultipartUpload, CopyObject's destination) check the
 * condition and write under one lock per key, so two conditional writes to a key cannot both
 * pass their check, and a refused one writes nothing. The check runs where s3rver writes, after
 * its own validation (access key, bucket, the multipart XML), as in S3; S3 evaluates it when the
 * write completes, which under the lock gives the same answer as checking just before writing.
 *
 * Unconditional writes take the same lock: a plain write must not land between a conditional
 * write's check and its write. The lock is per key in this server and, for two local runs whose
 * servers share one state directory, a lock file next to the object (../state-lock.ts) held
 * for the check and the write; each write itself is atomic (./atomic-store.ts).
 */

export function conditionalWrites(): S3rverMiddleware {
  const locks = new KeyedLock();
  return async (ctx, next) => {
    ctx.store = guardedStore(ctx, readWriteCondition(ctx.headers), locks);
    await next();
  };
}

function guardedStore(ctx: S3rverContext, condition: WriteCondition, locks: KeyedLock): S3rverStore {
  const store = ctx.store;
  const write = async <T>(bucket: string, key: string, commit: () => Promise<T>): Promise<T> => {
    const outcome = await locks.run(`${bucket}/${key}`, async (): Promise<{ refused: S3ErrorSpec } | { written: T }> => {
      const objectPath = store.getResourcePath(bucket, key, 'object');
      await mkdir(dirname(objectPath), { recursive: true });
      return withFileLock(`${objectPath}${KEY_LOCK_SUFFIX}`, { purpose: `writing s3://${bucket}/${key}` }, async () => {
        const current = condition.kind === 'unconditional' ? null : await currentEtag(store, bucket, key);
        const refused = refusal(condition, key, current);
        return refused ? { refused } : { written: await commit() };
      });
    });
    if ('written' in outcome) return outcome.written;
    // A refused PutObject's unread body is drained by Node's HTTP server after the response.
    throw new S3Error(outcome.refused.code, outcome.refused.message, { ...outcome.refused.detail });
  };
  const guarded: S3rverStore = Object.create(store);
  guarded.putObject = (object) => write(object.bucket, object.key, () => store.putObject(object));
  // The upload's key is the URL's (S3 rejects a CompleteMultipartUpload for another key).
  guarded.putObjectMultipart = (bucket, uploadId, parts) =>
    write(bucket, ctx.params?.key ?? '', () => store.putObjectMultipart(bucket, uploadId, parts));
  guarded.copyObject = (srcBucket, srcKey, destBucket, destKey, replacementMetadata) =>
    write(destBucket, destKey, () => store.copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata));
  return guarded;
}

async function currentEtag(store: S3rverStore, bucket: string, key: string): Promise<string | null> {
  try {
    return (await store.getMetadata(bucket, key)).etag;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
