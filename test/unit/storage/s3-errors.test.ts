import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeS3Error, shortError } from '../../../src/storage/s3-errors.js';

const describe = (error: object) => describeS3Error(error, 'flows', 's3://flows/hostflow', 'http://127.0.0.1:9000');
const sdk = (name: string, status: number, message = 'UnknownError') => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

test('each preflight failure says what is wrong in one line', () => {
  assert.equal(describe(sdk('NoSuchBucket', 404, 'The specified bucket does not exist')), 'storage: bucket "flows" does not exist at http://127.0.0.1:9000');
  assert.equal(describe(sdk('NotFound', 404)), 'storage: bucket "flows" does not exist at http://127.0.0.1:9000');
  assert.match(describe(sdk('InvalidAccessKeyId', 403)), /does not know the access key/);
  assert.match(describe(sdk('SignatureDoesNotMatch', 403)), /secret key does not match/);
  assert.match(describe(sdk('AccessDenied', 403, 'Access Denied')), /access denied writing to s3:\/\/flows\/hostflow/);
  assert.match(
    describe(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })),
    /no AWS credentials found/,
  );
  assert.match(describe(new Error('Region is missing')), /--storage-region/);
  assert.match(describe(sdk('PermanentRedirect', 301)), /another region/);
});

test('a network failure names the endpoint and the cause, however deep the SDK wrapped it', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
  assert.equal(describe(refused), 'storage: cannot reach http://127.0.0.1:9000 (ECONNREFUSED); is the endpoint up and --storage-endpoint right?');
  assert.match(describe(new AggregateError([refused], 'failed')), /\(ECONNREFUSED\)/);
  assert.match(describe(Object.assign(new Error('x'), { name: 'TimeoutError' })), /\(timed out\)/);
});

test('short errors for the status line', () => {
  assert.equal(shortError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(shortError(new AggregateError([Object.assign(new Error(''), { code: 'ECONNREFUSED' })], '')), 'ECONNREFUSED');
  assert.equal(shortError(sdk('Unknown', 503)), 'Unknown (HTTP 503)');
  assert.equal(shortError(sdk('SlowDown', 503, 'Please reduce your request rate.')), 'SlowDown: Please reduce your request rate. (HTTP 503)');
});
