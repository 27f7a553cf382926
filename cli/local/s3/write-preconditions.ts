import type { IncomingHttpHeaders } from 'node:http';

/**
 * S3's conditional writes (If-None-Match / If-Match on PutObject, CompleteMultipartUpload and
 * CopyObject), as the S3 User Guide, "How to prevent object overwrites with conditional writes"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html), and the API
 * reference's IfNoneMatch / IfMatch request headers describe them:
 *
 * - `If-None-Match: *`: the write succeeds only if no object has the key, else
 *   412 Precondition Failed. The header "expects the * (asterisk) value".
 * - `If-Match: <etag>`: the write succeeds only if the object's ETag matches, else 412; "if
 *   there's no current object version with the same name ... the operation fails with a
 *   404 Not Found error" (NoSuchKey), for every operation that takes the header.
 * - "If multiple conditional writes ... occur for the same object name, the first write
 *   operation to finish succeeds. Amazon S3 then fails subsequent writes with a 412".
 *
 * Values S3 refuses with 501 NotImplemented (an If-None-Match other than `*`, If-Match `*`, both
 * headers at once) follow LocalStack's S3 provider (localstack/services/s3/provider.py, whose
 * precondition tests are recorded against AWS): the guide only says which values are expected.
 * Error codes, messages and detail elements are S3's: PreconditionFailed "At least one of the
 * pre-conditions you specified did not hold" with <Condition>, NoSuchKey "The specified key does
 * not exist." with <Key>.
 *
 * Not emulated: 409 ConditionalRequestConflict, which S3 returns when a conflicting operation (a
 * delete) lands while a conditional write is in flight; writes to one key are serialized here,
 * so that window does not exist. Versioned buckets (delete markers) do not exist in s3rver.
 */
export type WriteCondition =
  | { readonly kind: 'unconditional' }
  | { readonly kind: 'ifNoneMatch' }
  | { readonly kind: 'ifMatch'; readonly etag: string }
  | { readonly kind: 'unsupported'; readonly error: S3ErrorSpec };

/** An S3 error response: the XML's Code, Message and extra elements. */
export interface S3ErrorSpec {
  readonly code: 'PreconditionFailed' | 'NoSuchKey' | 'NotImplemented';
  readonly message: string;
  readonly detail: Readonly<Record<string, string>>;
}

function header(headers: IncomingHttpHeaders, name: 'if-match' | 'if-none-match'): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function notImplemented(headerName: string): WriteCondition {
  return {
    kind: 'unsupported',
    error: {
      code: 'NotImplemented',
      message: 'A header you provided implies functionality that is not implemented',
      detail: { Header: headerName },
    },
  };
}

export function readWriteCondition(headers: IncomingHttpHeaders): WriteCondition {
  const ifMatch = header(headers, 'if-match');
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifMatch !== undefined && ifNoneMatch !== undefined) return notImplemented('If-Match,If-None-Match');
  if (ifNoneMatch !== undefined) return ifNoneMatch.trim() === '*' ? { kind: 'ifNoneMatch' } : notImplemented('If-None-Match');
  if (ifMatch !== undefined) return ifMatch.trim() === '*' ? notImplemented('If-Match') : { kind: 'ifMatch', etag: ifMatch };
  return { kind: 'unconditional' };
}

/** ETags compare without their double quotes, which clients may or may not send. */
function bareEtag(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, '$1');
}

/**
 * Why S3 would refuse this write, given the ETag of the object now at the key (null: none), or
 * null when the write may go ahead.
 */
export function refusal(condition: WriteCondition, key: string, currentEtag: string | null): S3ErrorSpec | null {
  switch (condition.kind) {
    case 'unconditional':
      return null;
    case 'unsupported':
      return condition.error;
    case 'ifNoneMatch':
      return currentEtag === null ? null : preconditionFailed('If-None-Match');
    case 'ifMatch':
      if (currentEtag === null) return { code: 'NoSuchKey', message: 'The specified key does not exist.', detail: { Key: key } };
      return bareEtag(currentEtag) === bareEtag(condition.etag) ? null : preconditionFailed('If-Match');
  }
}

function preconditionFailed(condition: 'If-None-Match' | 'If-Match'): S3ErrorSpec {
  return {
    code: 'PreconditionFailed',
    message: 'At least one of the pre-conditions you specified did not hold',
    detail: { Condition: condition },
  };
}
