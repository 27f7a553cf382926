import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Caller } from './iam.ts';

/**
 * Who is calling: every Lambda container and Fargate task of a local run gets its own access
 * key, as AWS hands each its role's session credentials, and the local endpoints (the S3 server,
 * the control plane) tell callers apart by the key in the request's SigV4 signature. The admin
 * key is the account owner (the runner uploading inputs and copying outputs, tests): never
 * checked, as a user's own credentials would not be by a bucket they own.
 */
export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** s3rver's built-in key, kept as the admin key so existing clients of the local S3 keep working. */
export const ADMIN_ACCESS_KEY: AccessKey = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', sessionToken: '' };

interface S3rverAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
  revokeAccessKey(accessKeyId: string): void;
}

const require = createRequire(import.meta.url);

export class Credentials {
  readonly #callers = new Map<string, Caller>();
  readonly #account = (require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: S3rverAccount }).DUMMY_ACCOUNT;

  /** New session credentials for `caller`; the S3 server learns the secret so it can verify signatures. */
  issue(caller: Caller): AccessKey {
    const key: AccessKey = {
      accessKeyId: `ASIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString('base64'),
      sessionToken: randomBytes(24).toString('base64'),
    };
    this.#callers.set(key.accessKeyId, caller);
    this.#account.createKeyPair(key.accessKeyId, key.secretAccessKey);
    return key;
  }

  /** The caller behind an access key id; 'admin' for the owner's key; undefined for an unknown key. */
  lookup(accessKeyId: string | undefined): Caller | 'admin' | undefined {
    if (accessKeyId === ADMIN_ACCESS_KEY.accessKeyId) return 'admin';
    return accessKeyId === undefined ? undefined : this.#callers.get(accessKeyId);
  }

  revokeAll(): void {
    for (const accessKeyId of this.#callers.keys()) this.#account.revokeAccessKey(accessKeyId);
    this.#callers.clear();
  }
}

/** The variables the SDK's default credential chain reads session credentials from. */
export function credentialEnvironment(key: AccessKey): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, AWS_SESSION_TOKEN: key.sessionToken };
}

/** The access key id of a SigV4-signed request (header or presigned query), if any. */
export function accessKeyIdOf(headers: Record<string, string | string[] | undefined>, query: Record<string, unknown> = {}): string | undefined {
  const authorization = headers.authorization;
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  const fromHeader = header ? /Credential=([^/,\s]+)\//.exec(header)?.[1] : undefined;
  if (fromHeader) return fromHeader;
  const credential = query['X-Amz-Credential'];
  return typeof credential === 'string' ? credential.split('/')[0] : undefined;
}
