import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostflowError } from '../../../src/errors.js';
import { attachXdpMode, describeRefusal, describeXdp, describeXdpShort, type XdpMode } from '../../../src/kernel/xdp-mode.js';

/** An addon error as attachXdp throws it. */
function errnoError(mode: XdpMode, text: string, code: string): Error {
  return Object.assign(new Error(`attachXdp(flow_xdp, ifindex 4, ${mode}): ${text} (${code})`), { code });
}

const VIRTIO_MESSAGE = "virtio_net: Can't set XDP while host is implementing GRO_HW/CSUM, disable GRO_HW/CSUM first";

/** A device that refuses the modes in `refuses`, with the kernel's message for each (null: none given). */
function device(refuses: Partial<Record<XdpMode, { text: string; code: string; message: string | null }>>, driver: string | null) {
  const tried: XdpMode[] = [];
  let last: string | null = null;
  return {
    tried,
    attempts: {
      driver,
      attach(mode: XdpMode) {
        tried.push(mode);
        last = null;
        const refusal = refuses[mode];
        if (refusal) {
          last = refusal.message;
          throw errnoError(mode, refusal.text, refusal.code);
        }
      },
      kernelMessage: () => last,
    },
  };
}

const VIRTIO = { native: { text: 'Operation not supported', code: 'EOPNOTSUPP', message: VIRTIO_MESSAGE } };

test('auto takes native mode where the driver accepts it, and tries nothing else', () => {
  const veth = device({}, 'veth');
  assert.deepEqual(attachXdpMode('veth0', 'auto', veth.attempts), { mode: 'native', nativeRefused: null });
  assert.deepEqual(veth.tried, ['native']);
});

test("auto falls back to generic mode when the driver refuses native, keeping the kernel's reason without the module prefix", () => {
  const virtio = device(VIRTIO, 'virtio_net');
  const xdp = attachXdpMode('eth0', 'auto', virtio.attempts);
  assert.deepEqual(virtio.tried, ['native', 'generic']);
  assert.deepEqual(xdp, {
    mode: 'generic',
    nativeRefused: { by: 'virtio_net', reason: "Can't set XDP while host is implementing GRO_HW/CSUM, disable GRO_HW/CSUM first; EOPNOTSUPP" },
  });
  assert.equal(describeXdp('eth0', xdp), `eth0: generic (native refused by virtio_net: ${VIRTIO_MESSAGE.slice('virtio_net: '.length)}; EOPNOTSUPP)`);
  assert.equal(describeXdpShort('eth0', xdp), 'eth0 xdp generic (virtio_net refused native)');
});

test('every refusal falls back, whatever the errno: EINVAL, EBUSY, ERANGE', () => {
  for (const code of ['EINVAL', 'EBUSY', 'ERANGE', 'ENOMEM']) {
    const nic = device({ native: { text: 'whatever', code, message: null } }, 'mlx5_core');
    assert.equal(attachXdpMode('eth1', 'auto', nic.attempts).mode, 'generic', code);
  }
});

test("without the kernel's message (before 6.5), the errno's text is the reason", () => {
  const refusal = describeRefusal('virtio_net', { error: errnoError('native', 'Operation not supported', 'EOPNOTSUPP'), kernelMessage: null });
  assert.deepEqual(refusal, { by: 'virtio_net', reason: 'Operation not supported; EOPNOTSUPP' });
});

test('a device without a driver name (loopback) is refused by the kernel', () => {
  const lo = device(
    { native: { text: 'Operation not supported', code: 'EOPNOTSUPP', message: 'Underlying driver does not support XDP in native mode' } },
    null,
  );
  const xdp = attachXdpMode('lo', 'auto', lo.attempts);
  assert.equal(describeXdp('lo', xdp), 'lo: generic (native refused by the kernel: Underlying driver does not support XDP in native mode; EOPNOTSUPP)');
});

test('a forced native mode that the driver refuses is one line that names the way out', () => {
  const virtio = device(VIRTIO, 'virtio_net');
  assert.throws(
    () => attachXdpMode('eth0', 'native', virtio.attempts),
    (error: unknown) =>
      error instanceof HostflowError &&
      !error.message.includes('\n') &&
      /^--xdp-mode native: eth0 refuses native XDP \(virtio_net: Can't set XDP .*; EOPNOTSUPP\); --xdp-mode auto falls back to generic mode$/.test(
        error.message,
      ),
  );
  assert.deepEqual(virtio.tried, ['native'], 'a forced mode tries nothing else');
});

test('a forced generic mode attaches generic only; its refusal is one line', () => {
  const veth = device({}, 'veth');
  assert.deepEqual(attachXdpMode('veth0', 'generic', veth.attempts), { mode: 'generic', nativeRefused: null });
  assert.deepEqual(veth.tried, ['generic']);
  assert.equal(describeXdp('veth0', { mode: 'generic', nativeRefused: null }), 'veth0: generic (as asked)');

  const busy = device({ generic: { text: 'File exists', code: 'EEXIST', message: "Native and generic XDP can't be active at the same time" } }, 'veth');
  assert.throws(() => attachXdpMode('veth0', 'generic', busy.attempts), {
    message: "--xdp-mode generic: XDP cannot attach on veth0: veth: Native and generic XDP can't be active at the same time; EEXIST",
  });
});

test('auto fails in one line with both reasons when neither mode attaches', () => {
  const taken = device(
    {
      native: { text: 'Device or resource busy', code: 'EBUSY', message: 'XDP program already attached' },
      generic: { text: 'File exists', code: 'EEXIST', message: "Native and generic XDP can't be active at the same time" },
    },
    'ixgbe',
  );
  assert.throws(() => attachXdpMode('eth2', 'auto', taken.attempts), {
    message:
      "XDP cannot attach on eth2: native refused by ixgbe (XDP program already attached; EBUSY), generic refused by ixgbe (Native and generic XDP can't be active at the same time; EEXIST)",
  });
});
