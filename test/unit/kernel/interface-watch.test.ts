import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TracedInterface } from '../../../src/kernel/attach.js';
import { describeInterfaceChange, interfaceSteps } from '../../../src/kernel/interface-watch.js';
import { summaryText } from '../../../src/format/health.js';
import { sessionSummaryLines } from '../../../src/format/session-summary.js';
import type { SessionSummary } from '../../../src/session.js';
import { QUIET_SUMMARY } from '../../helpers/summary.js';

const iface = (name: string, ifindex: number): TracedInterface => ({ name, ifindex, xdp: null });
const devices = (known: Record<string, number>) => (name: string) => known[name] ?? null;

test('an interface whose device is gone is forgotten; one back under a new index is attached again', () => {
  const eth0 = iface('eth0', 2);
  const veth = iface('veth1', 7);
  const gone = interfaceSteps([eth0, veth], devices({ eth0: 2 }), new Map());
  assert.deepEqual(gone, [{ iface: veth, gone: 7, back: null }], 'eth0 stayed: nothing to do');

  const replaced = interfaceSteps([veth], devices({ veth1: 9 }), new Map());
  assert.deepEqual(replaced, [{ iface: veth, gone: 7, back: 9 }], 'deleted and made again between two checks');

  const away = iface('veth1', 0);
  assert.deepEqual(interfaceSteps([away], devices({}), new Map()), [], 'still gone');
  assert.deepEqual(interfaceSteps([away], devices({ veth1: 9 }), new Map()), [{ iface: away, gone: null, back: 9 }]);
  assert.deepEqual(interfaceSteps([away], devices({ veth1: 9 }), new Map([['veth1', 9]])), [], 'the device that refused is not tried again');
  assert.deepEqual(interfaceSteps([away], devices({ veth1: 10 }), new Map([['veth1', 9]])), [{ iface: away, gone: null, back: 10 }]);
});

test('each change is one line for the log, and the summary says where each interface ended', () => {
  assert.equal(
    describeInterfaceChange({ name: 'veth1', change: 'gone', ifindex: 7 }),
    'interface veth1 went away (ifindex 7): its flows and wire DNS stop until it comes back; the rest is traced as before',
  );
  assert.equal(
    describeInterfaceChange({ name: 'veth1', change: 'back', ifindex: 9, xdpMode: 'native' }),
    'interface veth1 is back (ifindex 9): XDP native and TC attached again',
  );
  const summary: SessionSummary = {
    ...QUIET_SUMMARY,
    interfaceChanges: [
      { name: 'veth1', change: 'gone', ifindex: 7 },
      { name: 'veth1', change: 'back', ifindex: 9, xdpMode: 'native' },
      { name: 'tun0', change: 'gone', ifindex: 4 },
      { name: 'tun0', change: 'failed', ifindex: 5, reason: 'attachXdp(flow_xdp, tun0): Operation not supported (EOPNOTSUPP)' },
    ],
  };
  const lines = summaryText(sessionSummaryLines(summary));
  assert.ok(lines.includes('summary: note interfaces: veth1 went away 1 time, came back 1 time; at the end traced again'), lines.join('\n'));
  assert.ok(
    lines.includes(
      'summary: note interfaces: tun0 went away 1 time, came back 1 time, refused 1 time; at the end not traced: attachXdp(flow_xdp, tun0): Operation not supported (EOPNOTSUPP)',
    ),
    lines.join('\n'),
  );
});
