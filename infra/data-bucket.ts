import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface DataBucketProps {
  /** DESTROY empties (custom resource) and deletes the buckets with the stack; default RETAIN. */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The one data bucket (raw/, datasets/, runs/, models/) and its access-log bucket.
 *
 * - SSE-S3, TLS only, all public access blocked, ACLs disabled (BucketOwnerEnforced).
 * - Versioning ON: the champion records (models/champions/) are replaced in place and raw/ uploads can be overwritten;
 *   versions make both recoverable. Noncurrent versions expire after 30 days so it costs little
 *   (datasets/ and runs/ are written once, so they add no versions).
 * - EventBridge notifications ON: the raw/ trigger rule listens to "Object Created".
 * - Server access logs ON, to a separate bucket kept 90 days: the bucket holds the training data
 *   and the models, who read or replaced what is worth a cheap audit trail (CloudTrail data events
 *   would cost more).
 * - Incomplete multipart uploads are aborted after 7 days (no code here uploads in parts, but a
 *   user's `aws s3 cp` of a large raw/ file does).
 *
 * Who may read and write what: infra/data-access.ts.
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
}
