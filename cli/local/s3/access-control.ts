import { createRequire } from 'node:module';
import type { Caller, IamAuthorizer } from '../cloud/iam.ts';
import { AccessDeniedError, sessionArn } from '../cloud/iam.ts';
import type { PolicyDocument } from '../cloud/model.ts';
import { accessKeyIdOf, type Credentials } from '../cloud/credentials.ts';

/**
 * IAM for the embedded S3 server, as S3 applies it: a Koa middleware in front of s3rver that
 * names the S3 action a REST request performs (the actions and condition keys of the Service
 * Authorization Reference for Amazon S3), authorises the caller (known by the access key of its
 * SigV4 signature) against its role and the bucket policy, and answers a denied request the way
 * S3 does: 403 AccessDenied with the action and resource in the message (no body for HEAD).
 *
 * Also as S3 does: a GET or HEAD of a missing key is answered 404 only to a caller allowed to
 * list the bucket (s3:ListBucket, evaluated without an s3:prefix); anyone else gets 403, so code
 * that relies on 404s for "does not exist" fails here exactly where it would fail in AWS.
 */
export interface KoaContextLike {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
}
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<void>) => Promise<void>;

export interface S3AccessControlOptions {
  credentials: Credentials;
  authorizer: IamAuthorizer;
  partition?: string;
  /** The bucket policy of a bucket, if it has one. */
  bucketPolicy(bucket: string): PolicyDocument | undefined;
}

export interface S3Access {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

/** The IAM checks one S3 REST request needs (path-style addressing: /bucket/key). */
export function s3AccessFor(method: string, path: string, query: Record<string, unknown>, headers: Record<string, unknown>, partition = 'aws'): S3Access[] {
  const [bucketPart, ...keyParts] = path.replace(/^\//, '').split('/');
  const bucket = decodeURIComponent(bucketPart ?? '');
  const key = keyParts.map(decodeURIComponent).join('/');
  const has = (name: string) => name in query;
  const bucketArn = `arn:${partition}:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key}`;
  const verb = method.toUpperCase();
  if (!bucket) {
    if (verb === 'GET') return [{ action: 's3:ListAllMyBuckets', resource: '*' }];
    throw new UnknownS3Operation(verb, path, query);
  }
  if (keyParts.length === 0 || key === '') {
    if (verb === 'GET' && (has('list-type') || !Object.keys(query).some((name) => SUBRESOURCES.has(name)))) {
      const context: Record<string, string> = {};
      if (typeof query.prefix === 'string' && query.prefix !== '') context['s3:prefix'] = query.prefix;
      if (typeof query.delimiter === 'string') context['s3:delimiter'] = query.delimiter;
      if (typeof query['max-keys'] === 'string') context['s3:max-keys'] = query['max-keys'];
      return [{ action: 's3:ListBucket', resource: bucketArn, context }];
    }
    if (verb === 'HEAD') return [{ action: 's3:ListBucket', resource: bucketArn }];
    if (verb === 'GET' && has('versions')) return [{ action: 's3:ListBucketVersions', resource: bucketArn }];
    if (verb === 'GET' && has('uploads')) return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }];
    if (verb === 'GET' && has('location')) return [{ action: 's3:GetBucketLocation', resource: bucketArn }];
    throw new UnknownS3Operation(verb, path, query);
  }
  switch (verb) {
    case 'GET':
    case 'HEAD':
      if (has('uploadId')) return [{ action: 's3:ListMultipartUploadParts', resource: objectArn }];
      if (has('tagging')) return [{ action: has('versionId') ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging', resource: objectArn }];
      if (has('acl')) return [{ action: 's3:GetObjectAcl', resource: objectArn }];
      return [{ action: has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn }];
    case 'PUT': {
      if (has('tagging')) return [{ action: 's3:PutObjectTagging', resource: objectArn }];
      if (has('acl')) return [{ action: 's3:PutObjectAcl', resource: objectArn }];
      const writes: S3Access[] = [{ action: 's3:PutObject', resource: objectArn }];
      const source = headers['x-amz-copy-source'];
      if (typeof source === 'string' && !has('partNumber')) {
        const decoded = decodeURIComponent(source.replace(/^\//, '').split('?')[0]);
        writes.push({ action: 's3:GetObject', resource: `arn:${partition}:s3:::${decoded}` });
      }
      return writes;
    }
    case 'POST':
      if (has('uploads') || has('uploadId')) return [{ action: 's3:PutObject', resource: objectArn }];
      if (has('restore')) return [{ action: 's3:RestoreObject', resource: objectArn }];
      throw new UnknownS3Operation(verb, path, query);
    case 'DELETE':
      if (has('uploadId')) return [{ action: 's3:AbortMultipartUpload', resource: objectArn }];
      if (has('tagging')) return [{ action: 's3:DeleteObjectTagging', resource: objectArn }];
      return [{ action: has('versionId') ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: objectArn }];
    default:
      throw new UnknownS3Operation(verb, path, query);
  }
}

const SUBRESOURCES = new Set(['versions', 'uploads', 'location', 'acl', 'policy', 'cors', 'lifecycle', 'tagging', 'website', 'versioning', 'notification', 'logging', 'encryption', 'replication', 'delete']);

/** A request whose IAM action the local S3 does not know: refused rather than let through unchecked. */
export class UnknownS3Operation extends Error {
  constructor(method: string, path: string, query: Record<string, unknown>) {
    super(`the local S3 cannot tell which IAM action ${method} ${path}?${Object.keys(query).join('&')} needs (cli/local/s3/access-control.ts)`);
    this.name = 'NotImplemented';
  }
}

const require = createRequire(import.meta.url);
/** s3rver's own error type: thrown, it becomes S3's XML error response (no body for HEAD). */
const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail?: Record<string, string>) => Error;

export function s3AccessControl(options: S3AccessControlOptions): KoaMiddleware {
  const partition = options.partition ?? 'aws';
  const account = options.authorizer.model.bindings.account;
  return async (ctx, next) => {
    const accessKeyId = accessKeyIdOf(ctx.headers, ctx.query);
    const caller = options.credentials.lookup(accessKeyId);
    if (caller === 'admin') return next();
    if (accessKeyId === undefined) throw new S3Error('AccessDenied', 'Anonymous access is not allowed: every request to this bucket must be signed');
    if (caller === undefined) throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    let accesses: S3Access[];
    try {
      accesses = s3AccessFor(ctx.method, ctx.path, ctx.query, ctx.headers, partition);
    } catch (error) {
      throw new S3Error('NotImplemented', (error as Error).message);
    }
    const bucket = decodeURIComponent(ctx.path.replace(/^\//, '').split('/')[0] ?? '');
    const resourcePolicy = options.bucketPolicy(bucket);
    for (const access of accesses) {
      try {
        await options.authorizer.authorize(caller, { ...access, resourcePolicy });
      } catch (error) {
        if (error instanceof AccessDeniedError) throw new S3Error('AccessDenied', error.message);
        throw error;
      }
    }
    const reading = accesses[0].action === 's3:GetObject' || accesses[0].action === 's3:GetObjectVersion';
    try {
      await next();
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (reading && status === 404 && !(await mayList(options.authorizer, caller, bucket, partition, resourcePolicy))) {
        throw new S3Error(
          'AccessDenied',
          `User: ${sessionArn(caller, account, partition)} is not authorized to perform: s3:ListBucket on resource: "arn:${partition}:s3:::${bucket}" ` +
            'because no identity-based policy allows the s3:ListBucket action (S3 answers a request for a missing key with 403 instead of 404 unless the caller may list the bucket)',
        );
      }
      throw error;
    }
  };
}

async function mayList(authorizer: IamAuthorizer, caller: Caller, bucket: string, partition: string, resourcePolicy?: PolicyDocument) {
  try {
    await authorizer.authorize(caller, { action: 's3:ListBucket', resource: `arn:${partition}:s3:::${bucket}`, resourcePolicy });
    return true;
  } catch (error) {
    if (error instanceof AccessDeniedError) return false;
    throw error;
  }
}
