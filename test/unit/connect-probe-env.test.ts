/**
 * HOSTFLOW_TEST_CONNECT_PROBE (test/helpers/connect-probe.ts): how the kernel
 * matrix forces one connect probe mode on every hostflow the privileged
 * tests start.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectProbeModes, forcedConnectProbe, withConnectProbe } from '../helpers/connect-probe.js';

const forced = (mode: string) => ({ HOSTFLOW_TEST_CONNECT_PROBE: mode });

describe('the forced connect probe of the privileged tests', () => {
  test('unset or empty forces nothing: hostflow keeps auto', () => {
    assert.equal(forcedConnectProbe({}), undefined);
    assert.equal(forcedConnectProbe(forced('')), undefined);
    assert.deepEqual(withConnectProbe(['-i', 'lo'], {}), ['-i', 'lo']);
    assert.equal(connectProbeModes({}), 'kprobe|fentry|tracepoint');
  });

  test('each mode is added to the arguments and is the only one expected', () => {
    for (const mode of ['kprobe', 'fentry', 'tracepoint']) {
      assert.equal(forcedConnectProbe(forced(mode)), mode);
      assert.deepEqual(withConnectProbe(['-i', 'lo'], forced(mode)), ['--connect-probe', mode, '-i', 'lo']);
      assert.equal(connectProbeModes(forced(mode)), mode);
    }
  });

  test('arguments that choose a mode themselves keep it', () => {
    assert.deepEqual(withConnectProbe(['--connect-probe', 'auto', '-i', 'lo'], forced('fentry')), ['--connect-probe', 'auto', '-i', 'lo']);
    assert.deepEqual(withConnectProbe(['--connect-probe=kprobe'], forced('fentry')), ['--connect-probe=kprobe']);
  });

  test('an unknown mode throws instead of quietly testing auto', () => {
    assert.throws(() => forcedConnectProbe(forced('kprobes')), /HOSTFLOW_TEST_CONNECT_PROBE=kprobes: expected one of kprobe, fentry, tracepoint/);
    assert.throws(() => withConnectProbe([], forced('auto')), /expected one of/);
  });
});
