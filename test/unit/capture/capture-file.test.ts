/**
 * The --pcap file beside the real Session (stand-in kernel only): a frame
 * waits until the session has applied the events up to its time, however
 * long --reorder-window is, so its pcapng comment names the host a late
 * lookup revealed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CaptureFile } from '../../../src/capture/capture-file.js';
import { DEFAULT_TRACER_OPTIONS } from '../../../src/kernel/tracer.js';
import { Session } from '../../../src/session.js';
import { FakeKernel, lookupEvent, nowNs } from '../../helpers/fake-tracer.js';
import { frame } from '../../helpers/frames.js';
import { readPcapng } from '../../helpers/pcap.js';

const dir = mkdtempSync(join(tmpdir(), 'hostflow-capture-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const reorderWindowMs of [100, 600]) {
  test(`a frame waits out a ${reorderWindowMs} ms reorder window: the lookup that arrives after it still names its host`, async () => {
    const kernel = new FakeKernel();
    const session = new Session(
      {
        tracer: { ...DEFAULT_TRACER_OPTIONS, interfaces: ['veth-test'], capture: { mode: 'all', filter: null } },
        names: {},
        filter: {},
        flowIntervalSeconds: 10,
        reorderWindowMs,
      },
      [],
      kernel.start,
    );
    const path = join(dir, `window-${reorderWindowMs}.pcapng`);
    const capture = CaptureFile.open({ path, format: 'pcapng', snaplen: 65536 }, session);
    session.start();
    const lookedUpAt = nowNs();
    const data = frame({ saddr: '10.0.0.2', daddr: '192.0.2.80', sport: 40000, dport: 443, proto: 6 });
    kernel.packet({ tsNs: lookedUpAt + 1000, cpu: 0, ifindex: 7, direction: 'out', wireLength: data.length, dropped: false, gso: false, data });
    // The lookup's ring is read later than the frame's, but within the window.
    await new Promise((resolve) => setTimeout(resolve, Math.min(reorderWindowMs / 2, 250)));
    kernel.emit({ ...lookupEvent(4242, 'curl', 'late.example', ['192.0.2.80']), tsNs: lookedUpAt });
    await session.stop();
    capture.close();
    const [packet] = readPcapng(readFileSync(path)).packets;
    assert.equal(packet?.comment, 'dst host late.example');
  });
}
