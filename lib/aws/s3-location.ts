import { ConfigError } from '../errors.ts';

export interface S3Location {
  bucket: string;
  key: string;
}

const S3_URL = /^s3:\/\/([^/]+)\/(.+)$/s;

/** `s3://bucket/key` as a location; undefined when `value` is not an s3:// URL at all. */
export function parseS3Url(value: string): S3Location | undefined {
  if (!value.startsWith('s3://')) return undefined;
  const match = S3_URL.exec(value);
  if (!match) throw new ConfigError(`"${value}" is not an s3://bucket/key URL`);
  return { bucket: match[1], key: match[2] };
}

/** Accepts `s3://bucket/key` or a bare key (resolved against `defaultBucket`). */
export function parseS3Location(value: string, defaultBucket?: string): S3Location {
  const url = parseS3Url(value);
  if (url) return url;
  if (!defaultBucket) throw new ConfigError(`"${value}" has no bucket and no default bucket is configured`);
  if (value.length === 0 || value.startsWith('/')) throw new ConfigError(`"${value}" is not a valid S3 key`);
  return { bucket: defaultBucket, key: value };
}

export function s3Url({ bucket, key }: S3Location): string {
  return `s3://${bucket}/${key}`;
}
