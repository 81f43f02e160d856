import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, type DoctorFacts } from '../../src/doctor.js';

const thisKernel: DoctorFacts = {
  kernel: 'Linux 6.18.0 x64',
  btf: true,
  missingCapabilities: [],
  tracefs: null,
  bpffs: false,
  addon: null,
  libbpf: '1.1',
  kprobePmu: false,
  connectModes: { fentry: 'attachTracing(connect_v4_fexit): Invalid argument (EINVAL)', tracepoint: null },
  tracepoint: true,
  uprobes: true,
  tcx: true,
  libc: '/usr/lib/x86_64-linux-gnu/libc.so.6',
  defaultInterface: 'eth0',
  start: { error: null, interfaces: [], warnings: [], links: 9 },
  control: null,
};

const status = (facts: DoctorFacts, name: string) => judge(facts).checks.find((c) => c.name === name)?.status;

test('on a kernel without kprobes or fentry, auto chooses the tracepoint and nothing blocks', () => {
  const { checks, autoMode } = judge(thisKernel);
  assert.equal(autoMode, 'tracepoint');
  assert.deepEqual(
    checks.filter((c) => c.status === 'FAIL'),
    [],
  );
  assert.equal(status(thisKernel, 'kprobe'), 'no');
  assert.equal(status(thisKernel, 'fentry'), 'no');
  assert.match(checks.find((c) => c.name === 'tracefs')?.detail ?? '', /not needed/);
});

test('where kprobes attach, auto prefers them', () => {
  assert.equal(judge({ ...thisKernel, kprobePmu: true, connectModes: { kprobe: null, fentry: null, tracepoint: null } }).autoMode, 'kprobe');
});

test('missing capabilities and BTF each block with one line; tracefs is never needed', () => {
  const facts: DoctorFacts = {
    ...thisKernel,
    btf: false,
    missingCapabilities: [
      { capability: 'CAP_BPF', fatal: true, line: 'missing CAP_BPF: needed for loading the BPF programs and maps' },
      { capability: 'CAP_SYS_PTRACE', fatal: false, line: "missing CAP_SYS_PTRACE: needed for reading other users' processes" },
    ],
    connectModes: {},
    start: undefined,
  };
  const failing = judge(facts)
    .checks.filter((c) => c.status === 'FAIL')
    .map((c) => c.name);
  assert.deepEqual(failing, ['btf', 'privileges', 'connect']);
  const privileges = judge(facts).checks.filter((c) => c.name === 'privileges');
  assert.deepEqual(
    privileges.map((c) => c.status),
    ['FAIL', 'no'],
  );
});

test('doctor lists every libc found, each ok when its probes attached, never as a blocker', () => {
  const base = {
    origin: 'discovered' as const,
    deleted: false,
    firstComm: null,
    container: null,
    foreignRoot: false,
    error: null,
    untracedMs: null,
  };
  const facts: DoctorFacts = {
    ...thisKernel,
    libcs: [
      {
        ...base,
        key: 'fe:01:1',
        path: '/usr/lib/x86_64-linux-gnu/libc.so.6',
        openPath: '/usr/lib/x86_64-linux-gnu/libc.so.6',
        origin: 'system',
        firstPid: null,
        pids: 40,
        attached: true,
      },
      {
        ...base,
        key: '00:2a:2',
        path: '/lib/ld-musl-x86_64.so.1',
        openPath: '/proc/77/root/lib/ld-musl-x86_64.so.1',
        firstPid: 77,
        firstComm: 'nginx',
        container: 'docker:0123456789ab',
        foreignRoot: true,
        pids: 2,
        attached: false,
        error: 'no symbol getaddrinfo',
      },
    ],
  };
  const libcs = judge(facts).checks.filter((c) => c.name === 'libc');
  assert.deepEqual(
    libcs.map((c) => [c.status, c.detail]),
    [
      ['ok', '/usr/lib/x86_64-linux-gnu/libc.so.6 (system, 40 pids)'],
      ['no', '/lib/ld-musl-x86_64.so.1 (2 pids, from pid 77 nginx, container docker:0123456789ab, not attached: no symbol getaddrinfo)'],
    ],
  );
  assert.deepEqual(
    judge(facts).checks.filter((c) => c.status === 'FAIL'),
    [],
  );
  assert.equal(judge({ ...thisKernel, libcs: [], libc: null }).checks.find((c) => c.name === 'libc')?.detail, 'no libc found: use --libc PATH');
});

test('a start that fails is a blocker with the line hostflow itself would print', () => {
  const error = 'attachTc(flow_tc, ifindex 4 egress): Operation not permitted (EPERM)';
  const { checks } = judge({ ...thisKernel, start: { error, interfaces: [], warnings: [], links: 0 } });
  assert.deepEqual(
    checks.filter((c) => c.status === 'FAIL').map((c) => [c.name, c.detail]),
    [['start', error]],
  );
});

test('each interface of the start shows the XDP mode it got and why, and a busy control socket blocks', () => {
  const facts: DoctorFacts = {
    ...thisKernel,
    start: {
      error: null,
      interfaces: [
        {
          name: 'eth0',
          ifindex: 2,
          xdp: {
            mode: 'generic',
            nativeRefused: { by: 'virtio_net', reason: "Can't set XDP while host is implementing GRO_HW/CSUM, disable GRO_HW/CSUM first; EOPNOTSUPP" },
          },
        },
      ],
      warnings: [],
      links: 9,
    },
    control: 'another process (another hostflow?) listens on /run/hostflow/control.sock; choose another --control path',
  };
  const { checks } = judge(facts);
  assert.equal(
    checks.find((c) => c.name === 'xdp')?.detail,
    "eth0: generic (native refused by virtio_net: Can't set XDP while host is implementing GRO_HW/CSUM, disable GRO_HW/CSUM first; EOPNOTSUPP), TC egress attached",
  );
  assert.equal(checks.find((c) => c.name === 'interface')?.detail, 'eth0 (default route; -i to choose)');
  assert.deepEqual(
    checks.filter((c) => c.status === 'FAIL').map((c) => c.name),
    ['control'],
  );
});

test("the metrics endpoint is a check of its own: ok with its URL where it binds, a blocker with the run's line where it does not", () => {
  const bound = judge({ ...thisKernel, metrics: { url: 'http://127.0.0.1:9464/metrics', error: null } }).checks.find((c) => c.name === 'metrics');
  assert.deepEqual([bound?.status, bound?.detail], ['ok', 'http://127.0.0.1:9464/metrics binds']);
  const error = '--metrics 127.0.0.1:9464: port 9464 is in use on 127.0.0.1 (another hostflow or exporter?): choose another port';
  const busy = judge({ ...thisKernel, metrics: { url: null, error } }).checks.find((c) => c.name === 'metrics');
  assert.deepEqual([busy?.status, busy?.detail], ['FAIL', error]);
  assert.equal(
    judge(thisKernel).checks.find((c) => c.name === 'metrics'),
    undefined,
    'no check without --metrics',
  );
});

test('a kernel older than 5.18 is a blocker that says what it lacks; 5.18 and later pass', () => {
  assert.equal(status({ ...thisKernel, kernel: 'Linux 5.15.0-91-generic x64' }, 'kernel'), 'FAIL');
  assert.match(judge({ ...thisKernel, kernel: 'Linux 5.15.0-91-generic x64' }).checks[0]?.detail ?? '', /needs Linux 5\.18 or newer \(bpf_xdp_load_bytes\)/);
  for (const kernel of ['Linux 5.18.0 x64', 'Linux 6.1.0-57-amd64 x64', 'Linux 10.0.1 arm64'])
    assert.equal(status({ ...thisKernel, kernel }, 'kernel'), 'ok', kernel);
});
