import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { processIsAlive, trackLeftover } from '../../lib/data/leftovers.ts';
import { makeStoreAtomic, sweepPartialFiles, type FilesystemStoreInternals } from './s3/atomic-store.ts';
import { conditionalWrites } from './s3/conditional-writes.ts';
import { installBefore, type S3rverApp, type S3rverMiddleware } from './s3/s3rver-app.ts';
import { installSingleDesCompat } from './s3rver-des.ts';

/**
 * An S3-compatible server in this process (s3rver: a Koa app storing objects as files), for the
 * local workflow runner and tests. The handlers reach it with the same S3 client settings as in
 * Lambda (lib/aws/clients.ts), pointed at its endpoint: path-style addressing, checksums only
 * when required, and s3rver's built-in access key (S3RVER/S3RVER; it checks the key id of a
 * SigV4 request but not the signature).
 *
 * S3 conditional writes (If-None-Match / If-Match), which s3rver ignores, are added by
 * cli/local/s3/conditional-writes.ts; whole-object writes are made atomic (temporary file, then
 * rename; a short body is refused) by cli/local/s3/atomic-store.ts, as S3 never shows a partial
 * object.
 *
 * Two s3rver quirks are handled here:
 * - truncated listings (> 1,000 keys) need single DES, which OpenSSL 3 only has in its legacy
 *   provider: installSingleDesCompat() (./s3rver-des.ts) makes the one call work in-process;
 * - it stores the SDK's default `aws-chunked` streaming-checksum framing as part of the object:
 *   clients must use requestChecksumCalculation WHEN_REQUIRED (as lib/aws/clients.ts does).
 */
export const LOCAL_ACCESS_KEY = 'S3RVER';
export const LOCAL_REGION = 'us-east-1';
export const DEFAULT_LOCAL_BUCKET = 'fmnist-local';
/** Where `fmnist run` keeps the local bucket between runs unless --state-dir says otherwise. */
export const DEFAULT_LOCAL_STATE_DIR = join('runs', '.local-s3');

export interface LocalS3Options {
  /**
   * Where s3rver keeps the buckets. Default: a fresh temporary directory, removed by stop().
   * A directory given here is kept (state that persists between runs).
   */
  directory?: string;
  /** Bucket created on start (if missing). */
  bucket?: string;
  /** Default 0: a free port chosen by the OS. Always bound to 127.0.0.1. */
  port?: number;
  /**
   * Koa middleware run before everything else (the local cloud's IAM check): s3rver is a
   * Koa app, and what S3 checks before serving a request is added in front of it.
   */
  middleware?: ((ctx: never, next: () => Promise<void>) => Promise<void>)[];
}

export interface LocalS3 {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly bucket: string;
  readonly directory: string;
  /** Whether stop() removes `directory`. */
  readonly temporary: boolean;
  /** A client for this server, configured like lib/aws/clients.ts does for AWS_ENDPOINT_URL_S3. */
  readonly client: S3Client;
  /** Environment for code that builds its own client from the SDK's settings (lib/aws/clients.ts). */
  readonly env: Record<string, string>;
  /** Stops the server (idempotent) and removes a temporary directory. */
  stop(): Promise<void>;
}

/**
 * S3 behaviour s3rver lacks, as middleware run before s3rver's own, in this order (cli/local/s3/).
 * Factories: every server gets fresh instances (their state, e.g. locks, is per server).
 */
const S3_BEHAVIOUR: readonly (() => S3rverMiddleware)[] = [conditionalWrites];

/** The shape of the S3rver class we use (the package ships no types). */
interface S3rverInstance extends S3rverApp {
  store: FilesystemStoreInternals;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const require = createRequire(import.meta.url);

/** Client settings shared with lib/aws/clients.ts, plus this server's endpoint and key. */
export function localS3ClientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: LOCAL_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: LOCAL_ACCESS_KEY, secretAccessKey: LOCAL_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  installSingleDesCompat();
  const S3rver = require('s3rver') as S3rverConstructor;
  const bucket = options.bucket ?? DEFAULT_LOCAL_BUCKET;
  const temporary = options.directory === undefined;
  // A temporary bucket is named after its process, so one left by a killed process is swept by
  // the next start; a kept one gets the temporary files of writes killed midway removed.
  await sweepTemporaryBuckets();
  const directory = temporary ? await mkdtemp(join(tmpdir(), `${TEMPORARY_BUCKET_PREFIX}${process.pid}-`)) : resolve(options.directory!);
  if (!temporary) {
    await mkdir(directory, { recursive: true });
    await sweepPartialFiles(directory);
  }
  const untrack = temporary ? trackLeftover(directory) : () => {};
  let server: S3rverInstance | undefined;
  try {
    server = new S3rver({
      address: '127.0.0.1',
      port: options.port ?? 0,
      directory,
      silent: true,
      configureBuckets: [{ name: bucket }],
    });
    // Who may call first (IAM, given by the local cloud), then what S3 does that s3rver does not.
    makeStoreAtomic(server.store);
    installBefore(server, [...((options.middleware ?? []) as S3rverMiddleware[]), ...S3_BEHAVIOUR.map((create) => create())]);
    const address = await server.run();
    const endpoint = `http://127.0.0.1:${address.port}`;
    const client = new S3Client(localS3ClientConfig(endpoint));
    let stopped: Promise<void> | undefined;
    return {
      endpoint,
      bucket,
      directory,
      temporary,
      client,
      env: {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: LOCAL_ACCESS_KEY,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        DATA_BUCKET: bucket,
      },
      stop: () =>
        (stopped ??= (async () => {
          client.destroy();
          try {
            await server!.close();
          } finally {
            if (temporary) await rm(directory, { recursive: true, force: true });
            untrack();
          }
        })()),
    };
  } catch (error) {
    if (temporary) await rm(directory, { recursive: true, force: true });
    untrack();
    throw error;
  }
}

export const TEMPORARY_BUCKET_PREFIX = 'fmnist-s3-';
const TEMPORARY_BUCKET = new RegExp(`^${TEMPORARY_BUCKET_PREFIX}(\\d+)-`);

/** Removes temporary buckets (in the OS temporary directory) whose process is gone. */
export async function sweepTemporaryBuckets(parent = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const owner = TEMPORARY_BUCKET.exec(name)?.[1];
    if (owner === undefined || processIsAlive(Number(owner))) continue;
    await rm(join(parent, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
