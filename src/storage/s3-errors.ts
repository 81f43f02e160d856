/**
 * An S3 failure as one line a user can act on; pure. Errors of the AWS SDK
 * carry `name` (the S3 error code when the server sent a body), HTTP status
 * in `$metadata`, and Node's `code` for network errors.
 */
import { firstLine } from '../errors.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
  errors?: unknown[];
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

function networkCode(error: SdkError): string | undefined {
  if (error.code && NETWORK_CODES.has(error.code)) return error.code;
  for (const inner of [error.cause, ...(error.errors ?? [])]) {
    if (inner && typeof inner === 'object') {
      const code = networkCode(inner as SdkError);
      if (code) return code;
    }
  }
  if (error.name === 'TimeoutError' || error.name === 'RequestTimeout') return 'timed out';
  return undefined;
}

/** A short description of an upload error, for status and logs. */
export function shortError(error: unknown): string {
  const sdk = (error ?? {}) as SdkError;
  const code = networkCode(sdk);
  if (code) {
    const message = firstLine(sdk.message ?? '').trim();
    return message.includes(code) ? message : message ? `${code}: ${message}` : code;
  }
  const status = sdk.$metadata?.httpStatusCode;
  const message = firstLine(sdk.message ?? '').trim();
  const name = sdk.name && sdk.name !== 'Error' ? sdk.name : '';
  const text = [name, message && message !== 'UnknownError' ? message : ''].filter(Boolean).join(': ');
  return `${text || 'unknown error'}${status ? ` (HTTP ${status})` : ''}`;
}

/**
 * Why writing to (or, for `hostflow query`, reading from) `target`
 * (s3://bucket/prefix) at `where` (the endpoint, or "AWS S3") failed, as
 * the one line the CLI prints.
 */
export function describeS3Error(error: unknown, bucket: string, target: string, where: string, access: 'write' | 'read' = 'write'): string {
  const sdk = (error ?? {}) as SdkError;
  const name = sdk.name ?? '';
  const message = firstLine(sdk.message ?? '').trim();
  const status = sdk.$metadata?.httpStatusCode;
  const code = networkCode(sdk);
  if (code) return `storage: cannot reach ${where} (${code}); is the endpoint up and --storage-endpoint right?`;
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return 'storage: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance role';
  }
  if (/region is missing/i.test(message)) return 'storage: no region: pass --storage-region or set AWS_REGION';
  if (name === 'NoSuchBucket' || (status === 404 && name !== 'NoSuchKey')) return `storage: bucket "${bucket}" does not exist at ${where}`;
  if (name === 'InvalidAccessKeyId') return `storage: ${where} does not know the access key: check AWS_ACCESS_KEY_ID (or the profile's)`;
  if (name === 'SignatureDoesNotMatch') return "storage: the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY (or the profile's)";
  if (name === 'ExpiredToken' || name === 'TokenRefreshRequired' || name === 'InvalidToken')
    return `storage: the credentials' session token is expired or invalid (${name})`;
  if (name === 'AccessDenied' || status === 403) {
    return access === 'write'
      ? `storage: access denied writing to ${target}: the credentials need s3:PutObject there`
      : `storage: access denied reading ${target}: the credentials need s3:ListBucket and s3:GetObject there`;
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return `storage: bucket "${bucket}" is in another region: pass its region with --storage-region`;
  }
  return `storage: cannot ${access === 'write' ? 'write to' : 'read'} ${target} at ${where}: ${shortError(error)}`;
}
