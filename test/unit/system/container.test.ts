import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerResolver, parseContainer } from '../../../src/system/container.js';

const ID = '9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d';
const INNER = 'ec08435e04266c5ba381fccbb829f626d11d8ddf5f8f547263c7a2d79ab4787a';
const POD_UID = '045b1e35-7f13-11e7-ac42-0050568ffca0';
const POD_SLICE = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replaceAll('-', '_')}.slice`;

/** cgroup v1 text: the same path under each controller, as a host with one driver writes it. */
function v1Lines(path: string, unified = '/'): string {
  const controllers = ['cpuset', 'cpu,cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls,net_prio', 'perf_event', 'hugetlb', 'pids'];
  const lines = controllers.map((controller, i) => `${controllers.length + 1 - i}:${controller}:${path}`);
  return [...lines, `1:name=systemd:${path}`, `0::${unified}`, ''].join('\n');
}

test('docker under systemd on cgroup v2', () => {
  assert.deepEqual(parseContainer(`0::/system.slice/docker-${ID}.scope\n`), { id: ID, runtime: 'docker' });
});

test('docker under cgroupfs on a hybrid host, where the v2 line stays at containerd.service', () => {
  assert.deepEqual(parseContainer(v1Lines(`/docker/${ID}`, '/system.slice/containerd.service')), { id: ID, runtime: 'docker' });
});

test('docker in docker reports the inner container', () => {
  assert.deepEqual(parseContainer(v1Lines(`/docker/${ID}/docker/${INNER}`)), { id: INNER, runtime: 'docker' });
});

test('a path seen from inside another cgroup namespace still names its container', () => {
  assert.deepEqual(parseContainer(`0::/../../system.slice/docker-${ID}.scope\n`), { id: ID, runtime: 'docker' });
});

test('a dead cgroup’s "(deleted)" mark does not hide the container', () => {
  assert.deepEqual(parseContainer(`0::/system.slice/docker-${ID}.scope (deleted)\n`), { id: ID, runtime: 'docker' });
});

test('containerd: CRI scopes, nerdctl scopes and cgroupfs paths', () => {
  assert.deepEqual(parseContainer(`0::${POD_SLICE}/cri-containerd-${ID}.scope\n`), { id: ID, runtime: 'containerd' });
  assert.deepEqual(parseContainer(`0::/system.slice/nerdctl-${ID}.scope\n`), { id: ID, runtime: 'containerd' });
  assert.deepEqual(parseContainer(`0::/containerd/${ID}\n`), { id: ID, runtime: 'containerd' });
  assert.deepEqual(parseContainer('0::/containerd/redis-1\n'), { id: 'redis-1', runtime: 'containerd' });
});

test('a guaranteed pod (no QoS slice) takes its runtime from the scope', () => {
  const path = `/kubepods.slice/kubepods-pod${POD_UID.replaceAll('-', '_')}.slice/cri-containerd-${ID}.scope`;
  assert.deepEqual(parseContainer(`0::${path}\n`), { id: ID, runtime: 'containerd' });
});

test('cri-o under systemd and under cgroupfs', () => {
  assert.deepEqual(parseContainer(`0::${POD_SLICE}/crio-${ID}.scope\n`), { id: ID, runtime: 'cri-o' });
  assert.deepEqual(parseContainer(`0::${POD_SLICE}/crio-${ID}.scope/container\n`), { id: ID, runtime: 'cri-o' });
  assert.deepEqual(parseContainer(v1Lines(`/kubepods/besteffort/pod${POD_UID}/crio-${ID}`)), { id: ID, runtime: 'cri-o' });
});

test('cri-o’s conmon is not a container, in the pod’s slice or in system.slice', () => {
  assert.equal(parseContainer(`0::${POD_SLICE}/crio-conmon-${ID}.scope\n`), null);
  assert.equal(parseContainer(`0::/system.slice/crio-conmon-${ID}.scope\n`), null);
});

test('podman rootful, rootless and under cgroupfs', () => {
  assert.deepEqual(parseContainer(`0::/machine.slice/libpod-${ID}.scope\n`), { id: ID, runtime: 'podman' });
  const rootless = `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container\n`;
  assert.deepEqual(parseContainer(rootless), { id: ID, runtime: 'podman' });
  assert.deepEqual(parseContainer(v1Lines(`/libpod_parent/libpod-${ID}`)), { id: ID, runtime: 'podman' });
});

test('podman’s conmon is not a container', () => {
  assert.equal(parseContainer(`0::/machine.slice/libpod-conmon-${ID}.scope\n`), null);
});

test('kubernetes under cgroupfs: a bare id says nothing about the runtime', () => {
  assert.deepEqual(parseContainer(v1Lines(`/kubepods/besteffort/pod${POD_UID}/${ID}`)), { id: ID, runtime: 'kubernetes' });
  assert.deepEqual(parseContainer(v1Lines(`/kubepods/pod${POD_UID}/${ID}/kube-proxy`)), { id: ID, runtime: 'kubernetes' });
});

test('kubernetes with docker under systemd takes docker as the runtime', () => {
  assert.deepEqual(parseContainer(v1Lines(`${POD_SLICE}/docker-${ID}.scope`)), { id: ID, runtime: 'docker' });
});

test('a process known only by its pod gets the pod uid, with dashes', () => {
  assert.deepEqual(parseContainer(`0::${POD_SLICE}\n`), { id: POD_UID, runtime: 'kubernetes' });
});

test('a static pod’s hash uid is kept as is', () => {
  const uid = '6b2a8e5ca6b0d2a6a2b5f0e6f5a3d2c1';
  assert.deepEqual(parseContainer(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid}.slice\n`), { id: uid, runtime: 'kubernetes' });
});

test('host processes are in no container', () => {
  assert.equal(parseContainer('0::/\n'), null);
  assert.equal(parseContainer(v1Lines('/')), null);
  assert.equal(parseContainer('0::/init.scope\n'), null);
  assert.equal(parseContainer('0::/system.slice/docker.service\n'), null);
  assert.equal(parseContainer('0::/system.slice/containerd.service\n'), null);
  assert.equal(parseContainer('0::/kubepods.slice/kubepods-besteffort.slice\n'), null);
});

test('a systemd user session is in no container', () => {
  assert.equal(parseContainer('0::/user.slice/user-1000.slice/session-3.scope\n'), null);
  assert.equal(parseContainer('0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-1.scope\n'), null);
  assert.equal(parseContainer(v1Lines('/user/1000.user/c2.session')), null);
});

test('ids that are not 64 hex digits and garbage are no container', () => {
  assert.equal(parseContainer('0::/system.slice/docker-abc123.scope\n'), null);
  assert.equal(parseContainer(`0::/system.slice/docker-${ID.toUpperCase()}.scope\n`), null);
  assert.equal(parseContainer(''), null);
  assert.equal(parseContainer('not a cgroup file\n\0\0'), null);
});

test('the resolver reads a pid’s cgroup once and answers from its cache', () => {
  const reads: number[] = [];
  const resolver = new ContainerResolver({
    readCgroup: (pid) => {
      reads.push(pid);
      return pid === 10 ? `0::/system.slice/docker-${ID}.scope\n` : '0::/user.slice/user-1000.slice/session-2.scope\n';
    },
  });
  assert.deepEqual(resolver.lookup(10), { id: ID, runtime: 'docker' });
  assert.deepEqual(resolver.lookup(10), { id: ID, runtime: 'docker' });
  assert.equal(resolver.lookup(11), null);
  assert.equal(resolver.lookup(11), null);
  assert.deepEqual(reads, [10, 11]);
});

test('a gone process is null and not remembered, so a reused pid is read again', () => {
  let text: string | null = null;
  let reads = 0;
  const resolver = new ContainerResolver({
    readCgroup: () => {
      reads++;
      return text;
    },
  });
  assert.equal(resolver.lookup(42), null);
  text = `0::/machine.slice/libpod-${ID}.scope\n`;
  assert.deepEqual(resolver.lookup(42), { id: ID, runtime: 'podman' });
  assert.equal(reads, 2);
});

test('answers expire after the ttl, because pids are reused', () => {
  let nowMs = 1000;
  let reads = 0;
  const resolver = new ContainerResolver({
    ttlMs: 60_000,
    clock: { now: () => nowMs },
    readCgroup: () => {
      reads++;
      return '0::/\n';
    },
  });
  resolver.lookup(7);
  nowMs += 59_000;
  resolver.lookup(7);
  assert.equal(reads, 1);
  nowMs += 2_000;
  resolver.lookup(7);
  assert.equal(reads, 2);
});

test('the cache is bounded: the least recently used pid is read again', () => {
  const reads: number[] = [];
  const resolver = new ContainerResolver({
    max: 2,
    readCgroup: (pid) => {
      reads.push(pid);
      return '0::/\n';
    },
  });
  for (const pid of [1, 2, 3, 1]) resolver.lookup(pid);
  assert.deepEqual(reads, [1, 2, 3, 1]);
});

test('a reader that throws and pids that cannot exist give null, never an exception', () => {
  const resolver = new ContainerResolver({
    readCgroup: () => {
      throw new Error('EACCES');
    },
  });
  assert.equal(resolver.lookup(5), null);
  let reads = 0;
  const counting = new ContainerResolver({
    readCgroup: () => {
      reads++;
      return '0::/\n';
    },
  });
  for (const pid of [0, -1, 1.5, Number.NaN]) assert.equal(counting.lookup(pid), null);
  assert.equal(reads, 0);
});

test('by default the resolver reads /proc, and a pid that does not exist is null', () => {
  const resolver = new ContainerResolver();
  const own = resolver.lookup(process.pid);
  assert.ok(own === null || (typeof own.id === 'string' && typeof own.runtime === 'string'));
  // Above any pid_max (at most 2^22), so never a live process.
  assert.equal(resolver.lookup(2 ** 31 - 1), null);
});
