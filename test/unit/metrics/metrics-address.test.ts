import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostflowError } from '../../../src/errors.js';
import { metricsUrl, parseMetricsAddress } from '../../../src/metrics/metrics-address.js';

test(':PORT binds loopback only; every interface must be spelled out', () => {
  assert.deepEqual(parseMetricsAddress(':9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseMetricsAddress('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseMetricsAddress('[::]:9464'), { host: '::', port: 9464 });
});

test('an address is an IPv4 literal, a bracketed IPv6 literal or a host name, with a port', () => {
  assert.deepEqual(parseMetricsAddress('192.0.2.1:80'), { host: '192.0.2.1', port: 80 });
  assert.deepEqual(parseMetricsAddress('[fd00::1]:9100'), { host: 'fd00::1', port: 9100 });
  assert.deepEqual(parseMetricsAddress('localhost:0'), { host: 'localhost', port: 0 });
});

test('a wrong address is one line saying what a right one looks like', () => {
  for (const text of ['9464', 'localhost', ':', ':99999', 'fd00::1:80', '[10.0.0.1]:80', 'a b:80', '[::1]', ':80/metrics', 'host:-1']) {
    assert.throws(
      () => parseMetricsAddress(text),
      (error: unknown) => error instanceof HostflowError && !error.message.includes('\n') && error.message.includes('expected HOST:PORT'),
      text,
    );
  }
});

test('the URL brackets an IPv6 host', () => {
  assert.equal(metricsUrl({ host: '::1', port: 9464 }), 'http://[::1]:9464/metrics');
  assert.equal(metricsUrl({ host: '127.0.0.1', port: 9464 }), 'http://127.0.0.1:9464/metrics');
});
