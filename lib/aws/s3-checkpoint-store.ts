import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CheckpointStore } from '../model/checkpoint/index.ts';
import { checkpointPrefix } from '../workflow/layout.ts';
import { s3Call, S3OperationError } from './s3-errors.ts';
import { listObjects } from './s3-list.ts';
import { readObjectBytes } from './s3-read.ts';
import { putObject } from './s3.ts';

/**
 * A run's training checkpoints in the data bucket: file `<file>` of checkpoint `<name>` is
 * `runs/<runId>/checkpoint/<name>/<file>` (checkpointPrefix). What a checkpoint holds, that its
 * manifest goes last and which ones are kept is lib/model/checkpoint's business; this only moves
 * bytes. Needs, on runs/*\/checkpoint/*: s3:ListBucket (list, and telling a missing file from a
 * denied one), s3:GetObject, s3:PutObject, s3:DeleteObject (infra/data-access.ts).
 */
export function s3CheckpointStore(client: S3Client, bucket: string, runId: string): CheckpointStore {
  const prefix = checkpointPrefix(runId);
  const keyOf = (name: string, file: string) => `${prefix}${checkName(name)}/${checkFile(file)}`;
  const filesOf = async (name: string) => {
    const keys: string[] = [];
    for await (const object of listObjects(client, bucket, `${prefix}${checkName(name)}/`)) keys.push(object.key);
    return keys;
  };
  return {
    async list() {
      const names = new Set<string>();
      for await (const object of listObjects(client, bucket, prefix)) {
        const name = object.key.slice(prefix.length).split('/')[0];
        if (name) names.add(name);
      }
      return [...names].sort();
    },
    async read(name, file) {
      const location = { bucket, key: keyOf(name, file) };
      try {
        return new Uint8Array(await readObjectBytes(client, location));
      } catch (error) {
        // readObject turns a 403 for a missing key into NoSuchKey after listing it.
        if (error instanceof S3OperationError && (error.code === 'NoSuchKey' || error.name === 'NoSuchKey')) return undefined;
        throw error;
      }
    },
    async write(name, file, bytes) {
      await putObject(client, { bucket, key: keyOf(name, file) }, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    },
    async remove(name) {
      for (const key of await filesOf(name)) {
        await s3Call('DeleteObject', { bucket, key }, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
      }
    },
  };
}

/** One key segment: a name or file with a slash (or `..`) would write outside its checkpoint. */
function checkName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') throw new Error(`not a checkpoint name: "${name}"`);
  return name;
}
const checkFile = checkName;
