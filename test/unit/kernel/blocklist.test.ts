import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Blocklist, type BlockMaps } from '../../../src/kernel/blocklist.js';
import { blockCounters, blockEntry, blockKey4, blockKey6 } from '../../../src/kernel/layout.js';

/** The three maps as plain JavaScript maps keyed by hex, with what the kernel would add per CPU. */
function fakeMaps() {
  const maps = new Map<string, Map<string, Buffer>>([
    ['blocked_v4', new Map()],
    ['blocked_v6', new Map()],
    ['block_counters', new Map()],
    ['blocklist_entries', new Map()],
  ]);
  const table = (name: string) => {
    const found = maps.get(name);
    if (!found) throw new Error(`no map ${name}`);
    return found;
  };
  const api: BlockMaps = {
    update: (map, key, value) => void table(map).set(key.toString('hex'), Buffer.from(value)),
    delete: (map, key) => table(map).delete(key.toString('hex')),
    lookup: (map, key) => table(map).get(key.toString('hex')) ?? null,
  };
  /** What flow_xdp does on a drop: count on one CPU's copy of the entry's slot. */
  const drop = (slot: number, cpu: number, bytes: number) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(slot);
    const value = table('block_counters').get(key.toString('hex'));
    if (!value) throw new Error(`slot ${slot} was never zeroed`);
    const at = cpu * blockCounters.size;
    value.writeBigUInt64LE(value.readBigUInt64LE(at) + 1n, at);
    value.writeBigUInt64LE(value.readBigUInt64LE(at + 8) + BigInt(bytes), at + 8);
  };
  /** blocklist_entries as [IPv4, IPv6]. */
  const counts = () => ['00000000', '01000000'].map((key) => table('blocklist_entries').get(key)?.readUInt32LE(0) ?? 0);
  const slotOf = (map: string) => [...table(map).values()].map((value) => value.readUInt32LE(blockEntry.offsets.slot ?? 0));
  return { api, maps, table, drop, slotOf, counts };
}

test('blocking writes an LPM key (prefix length, network address) pointing at a zeroed counter slot', () => {
  const fake = fakeMaps();
  const list = new Blocklist(fake.api, 8, 2, () => 1_700_000_000_000);
  assert.deepEqual(list.block('10.0.0.0/8'), { prefix: '10.0.0.0/8', added: true });
  assert.deepEqual(list.block('fd00:213::/32'), { prefix: 'fd00:213::/32', added: true });
  const [key4] = [...fake.table('blocked_v4').keys()];
  assert.equal(key4, '080000000a000000');
  assert.equal(Buffer.from(key4 ?? '', 'hex').length, blockKey4.size);
  const [key6] = [...fake.table('blocked_v6').keys()];
  assert.equal(key6, `20000000fd000213${'0'.repeat(32)}`);
  assert.equal(Buffer.from(key6 ?? '', 'hex').length, blockKey6.size);
  const slots = [...fake.slotOf('blocked_v4'), ...fake.slotOf('blocked_v6')];
  assert.equal(new Set(slots).size, 2);
  for (const value of fake.table('block_counters').values()) assert.ok(value.equals(Buffer.alloc(2 * blockCounters.size)));
  assert.deepEqual(fake.counts(), [1, 1], 'flow_xdp learns how many prefixes each family has');
  list.block('10.0.0.0/8');
  list.block('192.0.2.0/24');
  assert.deepEqual(fake.counts(), [2, 1]);
  list.unblock('fd00:213::/32');
  assert.deepEqual(fake.counts(), [2, 0], 'an empty family is skipped by flow_xdp');
});

test('drops are summed over CPUs per entry; unblock returns the final counts and frees the slot', () => {
  const fake = fakeMaps();
  const list = new Blocklist(fake.api, 1, 2, () => 0);
  list.block('192.0.2.1');
  const [slot = -1] = fake.slotOf('blocked_v4');
  fake.drop(slot, 0, 84);
  fake.drop(slot, 1, 84);
  fake.drop(slot, 1, 60);
  assert.deepEqual(list.list(), [{ prefix: '192.0.2.1/32', family: 4, packets: 3, bytes: 228, addedMs: 0 }]);
  assert.throws(() => list.block('192.0.2.2'), /the blocklist is full \(1 entries\)/);
  const final = list.unblock('192.0.2.1/32');
  assert.equal(final?.packets, 3);
  assert.equal(fake.table('blocked_v4').size, 0);
  assert.equal(list.unblock('192.0.2.1'), null);
  // The slot is free again, and zeroed before its new entry appears.
  list.block('192.0.2.2');
  assert.deepEqual(
    list.list().map((entry) => entry.packets),
    [0],
  );
  assert.deepEqual(list.totals(), { entries: 1, packets: 3, bytes: 228 });
});

test('blocking twice is not an error, and any spelling of a prefix finds it', () => {
  const fake = fakeMaps();
  const list = new Blocklist(fake.api, 4, 1);
  list.block('fd00::1');
  assert.deepEqual(list.block('FD00:0::1/128'), { prefix: 'fd00::1/128', added: false });
  assert.ok(list.has('fd00:0:0:0:0:0:0:1'));
  assert.equal(list.size, 1);
});

test('an IPv4-mapped IPv6 address blocks the IPv4 address it stands for', () => {
  const fake = fakeMaps();
  const list = new Blocklist(fake.api, 4, 1);
  assert.deepEqual(list.block('::ffff:192.0.2.1'), { prefix: '192.0.2.1/32', added: true });
  assert.deepEqual(list.block('::ffff:10.0.0.0/104'), { prefix: '10.0.0.0/8', added: true });
  assert.equal(fake.table('blocked_v6').size, 0);
});

test('entries are listed IPv4 first, then by address and length', () => {
  const list = new Blocklist(fakeMaps().api, 8, 1);
  for (const prefix of ['fd00::/8', '10.0.0.0/8', '10.0.0.0/16', '9.9.9.9']) list.block(prefix);
  assert.deepEqual(
    list.list().map((entry) => entry.prefix),
    ['9.9.9.9/32', '10.0.0.0/8', '10.0.0.0/16', 'fd00::/8'],
  );
});

test('a bad prefix is refused before any map is touched', () => {
  const fake = fakeMaps();
  const list = new Blocklist(fake.api, 4, 1);
  assert.throws(() => list.block('10.1.0.0/8'), /host bits set/);
  assert.throws(() => list.block('nonsense'), /not an IP address/);
  assert.equal(fake.table('block_counters').size, 0);
});

test('a failed map update gives its slot back', () => {
  const fake = fakeMaps();
  let fail = true;
  const api: BlockMaps = {
    ...fake.api,
    update: (map, key, value) => {
      if (map === 'blocked_v4' && fail) throw new Error('update(blocked_v4): E2BIG');
      fake.api.update(map, key, value);
    },
  };
  const list = new Blocklist(api, 1, 1);
  assert.throws(() => list.block('10.0.0.1'), /cannot block 10\.0\.0\.1\/32: update\(blocked_v4\): E2BIG/);
  fail = false;
  assert.equal(list.block('10.0.0.1').added, true);
});
