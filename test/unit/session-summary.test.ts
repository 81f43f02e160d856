import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summaryText } from '../../src/format/health.js';
import { sessionSummaryLines } from '../../src/format/session-summary.js';
import type { SessionSummary } from '../../src/session.js';
import { QUIET_SUMMARY } from '../helpers/summary.js';

const quiet = QUIET_SUMMARY;

const text = (summary: SessionSummary) => summaryText(sessionSummaryLines(summary));

test('a healthy run reads as healthy, line by line and in the verdict', () => {
  assert.deepEqual(text(quiet), [
    'summary: ok records: dns 1, conn 2, flow 3, udp 4 written',
    'summary: ok events: 42 delivered; none lost, malformed or late',
    'summary: healthy: nothing lost, nothing failed',
  ]);
});

test('closes written late with no probe run skipped (the sweep found them) are said on the events line, not a problem', () => {
  assert.deepEqual(text({ ...quiet, closesRecovered: 12 }).slice(1), [
    'summary: ok events: 42 delivered; none lost, malformed or late; 12 closes the probes missed written late (at destroy, at reuse or by the sweep)',
    'summary: healthy: nothing lost, nothing failed',
  ]);
});

test('lost events, skipped probe runs and late events are each a PROBLEM, and the verdict names them', () => {
  const lines = text({
    ...quiet,
    lost: { drop_connect: 3, drop_close: 2 },
    lostTotal: 5,
    skipped: { sock_state: 868 },
    skippedTotal: 868,
    closesRecovered: 434,
    late: 7,
  });
  assert.match(lines[1] ?? '', /^summary: PROBLEM events: 5 lost in the kernel, their records never written \(drop_connect 3, drop_close 2\)/);
  assert.match(
    lines[2] ?? '',
    /^summary: PROBLEM events: the kernel skipped 868 probe runs \(sock_state 868\).*434 closes the probes missed were written late \(at the socket's destroy, at the reuse of its memory, or by the sweep\)$/,
  );
  assert.match(lines[3] ?? '', /^summary: PROBLEM events: 7 arrived after the reorder window.*raise --reorder-window$/);
  assert.equal(lines.at(-1), 'summary: 1 PROBLEM: events (see above)');
});

test('connections whose close the kernel never showed are a PROBLEM that says their close record is missing', () => {
  const naming = { lateNamed: 0, sni: 0, http: 0, serverNamesIgnored: 0, serverNamesInvalid: 0, unnamedEvicted: 0, connectionsEvicted: 0, closesUnseen: 58 };
  const lines = text({ ...quiet, naming });
  assert.match(lines[1] ?? '', /^summary: PROBLEM events: 58 connections ended without a close from the kernel .*no close record$/);
  assert.equal(lines.at(-1), 'summary: 1 PROBLEM: events (see above)');
});

test('records lost to a full kernel table are a PROBLEM of their own that names the option to raise', () => {
  const lines = text({ ...quiet, lost: { drop_lookup: 1, lookups_full: 143, connecting_full: 2 }, lostTotal: 146 });
  assert.equal(lines[1], 'summary: PROBLEM events: 1 lost in the kernel, their records never written (drop_lookup 1): the ring buffers were full');
  assert.equal(
    lines[2],
    'summary: PROBLEM tables: 145 records lost or closed without their process (lookups_full 143, connecting_full 2): a kernel table was full; raise --lookup-table-size, --connect-table-size',
  );
  assert.equal(lines.at(-1), 'summary: 2 PROBLEMS: events, tables (see above)');
  const tablesOnly = text({ ...quiet, lost: { sockets_full: 5 }, lostTotal: 5 });
  assert.ok(!tablesOnly.some((line) => /events: .*none lost/.test(line)), tablesOnly.join('\n'));
  assert.ok(
    tablesOnly.includes(
      'summary: PROBLEM tables: 5 records lost or closed without their process (sockets_full 5): a kernel table was full; raise --socket-table-size',
    ),
  );
});

test('generic XDP is a note with its reason, native is ok; notes leave the run healthy', () => {
  const lines = text({
    ...quiet,
    interfaces: [
      {
        name: 'eth0',
        ifindex: 2,
        xdp: {
          mode: 'generic',
          nativeRefused: { by: 'virtio_net', reason: "Can't set XDP while host is implementing GRO_HW/CSUM, disable GRO_HW/CSUM first; EOPNOTSUPP" },
        },
      },
      { name: 'veth0', ifindex: 3, xdp: { mode: 'native', nativeRefused: null } },
    ],
  });
  assert.ok(
    lines.includes(
      "summary: note xdp: eth0: generic (native refused by virtio_net: Can't set XDP while host is implementing GRO_HW/CSUM, disable GRO_HW/CSUM first; EOPNOTSUPP); ingress is counted after GRO, see the README's fallback table",
    ),
  );
  assert.ok(lines.includes('summary: ok xdp: veth0: native'));
  assert.equal(lines.at(-1), 'summary: healthy: nothing lost, nothing failed (1 note above)');
});

test('every line says ok, note or PROBLEM', () => {
  const lines = text({
    ...quiet,
    malformed: 1,
    wireSkipped: { truncated: 2 },
    capture: { packets: 10, bytes: 600, lost: 3, malformed: 0 },
    naming: { lateNamed: 1, sni: 2, http: 0, serverNamesIgnored: 1, serverNamesInvalid: 0, unnamedEvicted: 4, connectionsEvicted: 0 },
    dnsTcp: { segments: 4, messages: 2, duplicates: 2, skipped: { incomplete: 1 } },
    serverNameDecode: { sni: 2, http: 0, quic: 0, encryptedHellos: { tls: 0, quic: 0 }, skipped: { 'sni:truncated': 1 } },
    blocked: [{ prefix: '192.0.2.0/24', family: 4, packets: 9, bytes: 900, addedMs: 0 }],
    tcNetlink: ['veth0/egress'],
  });
  for (const line of lines.slice(0, -1)) assert.match(line, /^summary: (ok|note|PROBLEM) [a-zA-Z -]+: /, line);
  assert.equal(lines.at(-1), 'summary: 2 PROBLEMS: events, capture (see above)');
});

test('executables hostflow may not read are a note that names the missing capability, not a problem', () => {
  const identity = { cached: 0, read: 5, refused: 0, gone: 0, unknown: 0, exeDenied: 3 };
  const lines = text({ ...quiet, identity });
  assert.ok(
    lines.includes("summary: note identity: the executable of 3 processes could not be read (another user's, without CAP_SYS_PTRACE): their exe is null"),
    lines.join('\n'),
  );
  assert.equal(lines.at(-1), 'summary: healthy: nothing lost, nothing failed (1 note above)');
  assert.ok(!text({ ...quiet, identity: { ...identity, exeDenied: 0 } }).some((line) => line.includes('identity')));
});
