import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, arnRef } from './nag-suppressions.ts';
import { PREFIXES } from '../workflow/layout.ts';

export type Prefix = (typeof PREFIXES)[keyof typeof PREFIXES];

/** What one principal may do, by prefix: read = list + get, write = put (+ abort multipart). */
export interface PrefixAccess {
  read?: readonly Prefix[];
  write?: readonly Prefix[];
}

export interface DataBucketProps {
  /** DESTROY empties (custom resource) and deletes the buckets with the stack; default RETAIN. */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The one data bucket (raw/, datasets/, runs/, models/) and its access-log bucket.
 *
 * - SSE-S3, TLS only, all public access blocked, ACLs disabled (BucketOwnerEnforced).
 * - Versioning ON: models/champion.json is replaced in place and raw/ uploads can be overwritten;
 *   versions make both recoverable. Noncurrent versions expire after 30 days so it costs little
 *   (datasets/ and runs/ are written once, so they add no versions).
 * - EventBridge notifications ON: the raw/ trigger rule listens to "Object Created".
 * - Server access logs ON, to a separate bucket kept 90 days: the bucket holds the training data
 *   and the models, who read or replaced what is worth a cheap audit trail (CloudTrail data events
 *   would cost more).
 * - Incomplete multipart uploads are aborted after 7 days.
 */
export class DataBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const autoDeleteObjects = removalPolicy === RemovalPolicy.DESTROY;
    const common: s3.BucketProps = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects,
    };
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...common,
      versioned: true,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
  }

  /**
   * Grants exactly the prefixes named: GetObject / PutObject on `<bucket>/<prefix>*` and
   * ListBucket on the bucket for listings under the readable prefixes (s3:prefix condition).
   * Never s3:* and never the whole bucket's objects.
   */
  grantPrefixes(grantee: iam.IGrantable, access: PrefixAccess): void {
    const objects = (prefixes: readonly Prefix[]) => prefixes.map((prefix) => this.bucket.arnForObjects(`${prefix}*`));
    const read = [...new Set(access.read ?? [])];
    const write = [...new Set(access.write ?? [])];
    if (read.length > 0) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects(read) }),
      );
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          // IfExists: S3 answers a GET/HEAD of a missing key with 404 only to a caller allowed to
          // ListBucket, and it checks that without an s3:prefix; with a plain StringLike the
          // handlers' "does it exist?" checks (manifest.json, champion.json, the other split)
          // would get 403 instead. A listing WITH a prefix stays limited to these prefixes.
          conditions: { StringLikeIfExists: { 's3:prefix': read.map((prefix) => `${prefix}*`) } },
        }),
      );
    }
    if (write.length > 0) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: objects(write) }),
      );
    }
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    for (const prefix of new Set([...read, ...write])) {
      acknowledge(
        principal,
        `AwsSolutions-IAM5[Resource::${arnRef(this.bucket)}/${prefix}*]`,
        `Object access is limited to the ${prefix} prefix of the data bucket; the keys under it are created at run time (dataset ids, run ids, upload names), so they cannot be listed in advance.`,
      );
    }
  }
}
