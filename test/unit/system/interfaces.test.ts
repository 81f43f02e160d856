import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  UnknownInterfaceError,
  defaultRouteInterface,
  defaultRouteInterface6,
  interfaceDriver,
  interfaceIndex,
  listInterfaces,
} from '../../../src/system/interfaces.js';

const ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;

test('the default route with the lowest metric names the default interface', () => {
  assert.equal(defaultRouteInterface(ROUTES), 'eth0');
});

test('no default route gives no default interface', () => {
  assert.equal(
    defaultRouteInterface(
      ROUTES.split('\n')
        .filter((l) => !l.includes('\t00000000\t0'))
        .join('\n'),
    ),
    null,
  );
  assert.equal(defaultRouteInterface(''), null);
});

test('the IPv6 default route is read from ipv6_route', () => {
  const table = `${'0'.repeat(32)} 00 ${'0'.repeat(32)} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     ens5\n`;
  assert.equal(defaultRouteInterface6(table), 'ens5');
});

test('an unknown or malformed interface name is a clear error', () => {
  assert.throws(
    () => interfaceIndex('does-not-exist0'),
    (error: unknown) => error instanceof UnknownInterfaceError && /unknown interface 'does-not-exist0'/.test(error.message),
  );
  assert.throws(() => interfaceIndex('../../etc'), UnknownInterfaceError);
  assert.equal(interfaceIndex('lo'), 1);
});

test('names that cannot be interfaces are unknown, never looked up as paths', () => {
  for (const name of ['', 'a'.repeat(16), 'eth0/../lo', 'has space']) {
    assert.throws(() => interfaceIndex(name), UnknownInterfaceError, JSON.stringify(name));
  }
});

test('the interfaces listed are the ones that resolve, loopback first', () => {
  const names = listInterfaces();
  assert.equal(names[0], 'lo');
  for (const name of names) assert.ok(interfaceIndex(name) > 0, name);
  assert.equal(interfaceDriver('lo'), null, 'loopback reports no driver');
});
