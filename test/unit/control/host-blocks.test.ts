import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockHost, type BlockHostSources } from '../../../src/control/block-host.js';
import { addressPrefix, HostBlocks } from '../../../src/control/host-blocks.js';
import { hostMatches, parseHostPattern } from '../../../src/control/host-pattern.js';
import { NameIndex } from '../../../src/correlate/names.js';
import { Blocklist, type BlockMaps } from '../../../src/kernel/blocklist.js';

/** The real Blocklist over in-memory maps: what the kernel would hold. */
function blocklist(capacity = 64): Blocklist {
  const maps = new Map<string, Map<string, Buffer>>();
  const table = (name: string) => maps.get(name) ?? maps.set(name, new Map()).get(name)!;
  const api: BlockMaps = {
    update: (map, key, value) => void table(map).set(key.toString('hex'), Buffer.from(value)),
    delete: (map, key) => table(map).delete(key.toString('hex')),
    lookup: (map, key) => table(map).get(key.toString('hex')) ?? null,
  };
  return new Blocklist(api, capacity, 1, () => 0);
}

const prefixes = (list: Blocklist) => list.list().map((entry) => entry.prefix);

test('a host name is matched as DNS compares names; anything else is refused with printable text only', () => {
  const parsed = parseHostPattern('API.Example.COM.');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.pattern, { text: 'api.example.com', name: 'api.example.com', wildcard: false });
  assert.ok(hostMatches(parsed.pattern, 'api.example.com'));
  assert.ok(hostMatches(parsed.pattern, 'API.EXAMPLE.com.'));
  assert.ok(!hostMatches(parsed.pattern, 'x.api.example.com'));

  const wildcard = parseHostPattern('*.Example.com');
  assert.ok(wildcard.ok);
  assert.equal(wildcard.pattern.text, '*.example.com');
  assert.ok(hostMatches(wildcard.pattern, 'a.b.example.com'));
  assert.ok(!hostMatches(wildcard.pattern, 'example.com'), 'a wildcard covers the names under the domain, not the domain');
  assert.ok(!hostMatches(wildcard.pattern, 'badexample.com'));

  for (const bad of ['', '.', '*', '*.', 'a..b', '-a.test', 'a b', 'a/b', 'x'.repeat(64) + '.test', 'a.*.test', 'é.test']) {
    assert.equal(parseHostPattern(bad).ok, false, `refused: ${JSON.stringify(bad)}`);
  }
  const escape = parseHostPattern('\x1b[31mred.test\x07');
  assert.ok(!escape.ok);
  assert.ok(
    [...escape.error].every((char) => char >= ' ' && char <= '~'),
    'control characters never reach a terminal',
  );
  assert.match(escape.error, /^'\?\[31mred\.test\?' is not a host name/);
  const address = parseHostPattern('192.0.2.1');
  assert.ok(!address.ok);
  assert.match(address.error, /block-src blocks addresses/);
  assert.ok(!parseHostPattern('[fd00::1]').ok);
});

test('an address is the blocklist entry it stands for', () => {
  assert.equal(addressPrefix('192.0.2.1'), '192.0.2.1/32');
  assert.equal(addressPrefix('FD00:0::1'), 'fd00::1/128');
  assert.equal(addressPrefix('::ffff:192.0.2.1'), '192.0.2.1/32', 'IPv4-mapped: the IPv4 entry');
  assert.equal(addressPrefix('fe80::1%eth0'), 'fe80::1/128');
  assert.equal(addressPrefix('not.an.address'), null);
});

test('a blocked name takes its addresses into the blocklist and follows later resolutions, CNAME chains included', () => {
  const list = blocklist();
  const blocks = new HostBlocks(() => list, { now: () => 5 });
  assert.deepEqual(blocks.add('Web.Test.'), { pattern: { text: 'web.test', name: 'web.test', wildcard: false }, added: true });
  assert.equal(blocks.add('web.test').added, false);
  assert.deepEqual(blocks.addAddresses('web.test', ['192.0.2.1', 'fd00::1', '192.0.2.1']), { added: ['192.0.2.1', 'fd00::1'], refused: 0, failures: [] });
  assert.deepEqual(prefixes(list), ['192.0.2.1/32', 'fd00::1/128']);

  blocks.learned('other.test', [], ['192.0.2.50']);
  blocks.learned('WEB.test', [], ['192.0.2.2']);
  blocks.learned('alias.test', ['edge.cdn.test', 'web.test'], ['192.0.2.3']);
  assert.deepEqual(prefixes(list), ['192.0.2.1/32', '192.0.2.2/32', '192.0.2.3/32', 'fd00::1/128']);
  assert.equal(blocks.stats.addrsLearned, 2);
  assert.deepEqual(blocks.list(), [{ name: 'web.test', addrs: ['192.0.2.1', '192.0.2.2', '192.0.2.3', 'fd00::1'], addedMs: 5, refused: 0 }]);

  const removed = blocks.remove('web.test');
  assert.deepEqual(removed, { name: 'web.test', released: ['192.0.2.1', 'fd00::1', '192.0.2.2', '192.0.2.3'], kept: [] });
  assert.deepEqual(prefixes(list), []);
  assert.equal(blocks.remove('web.test'), null);
  blocks.learned('web.test', [], ['192.0.2.9']);
  assert.deepEqual(prefixes(list), [], 'an unblocked name no longer follows');
});

test('a wildcard blocks every name under its domain', () => {
  const list = blocklist();
  const blocks = new HostBlocks(() => list);
  blocks.add('*.ads.test');
  blocks.learned('ads.test', [], ['192.0.2.1']);
  blocks.learned('x.ads.test', [], ['192.0.2.2']);
  blocks.learned('cdn.test', ['y.z.ads.test'], ['192.0.2.3']);
  assert.deepEqual(prefixes(list), ['192.0.2.2/32', '192.0.2.3/32']);
});

test('unblock-host removes only what no other name or block-src needs', () => {
  const list = blocklist();
  list.block('192.0.2.9'); // --block at start
  const blocks = new HostBlocks(() => list);
  blocks.add('a.test');
  blocks.add('b.test');
  blocks.addAddresses('a.test', ['192.0.2.1', '192.0.2.2', '192.0.2.9', '192.0.2.5']);
  blocks.addAddresses('b.test', ['192.0.2.2']);
  // block-src of an address a name already holds: the blocklist says "already", block-src now wants it too.
  assert.equal(list.block('192.0.2.5').added, false);
  blocks.sourceBlocked('192.0.2.5/32');

  assert.deepEqual(blocks.remove('a.test'), {
    name: 'a.test',
    released: ['192.0.2.1'],
    kept: [
      { addr: '192.0.2.2', for: ['b.test'] },
      { addr: '192.0.2.9', for: ['block-src'] },
      { addr: '192.0.2.5', for: ['block-src'] },
    ],
  });
  assert.deepEqual(prefixes(list), ['192.0.2.2/32', '192.0.2.5/32', '192.0.2.9/32']);

  // unblock-src of an address a name holds: block-src lets go, the entry stays for the name.
  assert.deepEqual(blocks.sourceUnblocked('192.0.2.2'), { prefix: '192.0.2.2/32', names: ['b.test'] });
  assert.equal(blocks.sourceUnblocked('192.0.2.5'), null, 'no name holds it any more: unblock-src removes it as usual');
  assert.equal(blocks.sourceUnblocked('10.0.0.0/8'), null);
  assert.equal(blocks.sourceUnblocked('garbage'), null);
  assert.deepEqual(blocks.remove('b.test')?.released, ['192.0.2.2']);
  assert.deepEqual(prefixes(list), ['192.0.2.5/32', '192.0.2.9/32']);

  // block-src, then a name, then unblock-src: the name keeps it; unblock-host then removes it.
  blocks.add('c.test');
  blocks.addAddresses('c.test', ['192.0.2.9']);
  assert.deepEqual(blocks.sourceUnblocked('::ffff:192.0.2.9'), { prefix: '192.0.2.9/32', names: ['c.test'] });
  assert.deepEqual(blocks.remove('c.test')?.released, ['192.0.2.9']);
});

test('names and addresses are bounded; refusals and skipped addresses are counted', () => {
  const list = blocklist(3);
  const blocks = new HostBlocks(() => list, { maxNames: 2, maxAddrsPerName: 2 });
  blocks.add('a.test');
  blocks.add('b.test');
  assert.throws(() => blocks.add('c.test'), /2 names are blocked already/);
  assert.equal(blocks.stats.namesRefused, 1);
  assert.deepEqual(blocks.addAddresses('a.test', ['0.0.0.0', '::', '192.0.2.1', '192.0.2.2', '192.0.2.3']), {
    added: ['192.0.2.1', '192.0.2.2'],
    refused: 1,
    failures: [],
  });
  assert.deepEqual(blocks.addAddresses('a.test', ['192.0.2.1']), { added: [], refused: 0, failures: [] }, 'an address held already is no refusal');
  assert.equal(blocks.stats.addrsSkipped, 2, '0.0.0.0 and :: are never a source');
  blocks.addAddresses('b.test', ['192.0.2.7']);
  const full = blocks.addAddresses('b.test', ['192.0.2.8']);
  assert.equal(full.refused, 1);
  assert.match(full.failures[0] ?? '', /^192\.0\.2\.8: the blocklist is full/);
  assert.deepEqual(blocks.stats, { namesRefused: 1, addrsRefused: 1, addrsSkipped: 2, blockFailures: 1, addrsLearned: 0 });
  assert.deepEqual(
    blocks.list().map((row) => [row.name, row.refused]),
    [
      ['a.test', 1],
      ['b.test', 1],
    ],
  );
});

test('without a blocklist nothing is taken', () => {
  const blocks = new HostBlocks(() => null);
  blocks.add('a.test');
  assert.deepEqual(blocks.addAddresses('a.test', ['192.0.2.1']), { added: [], refused: 0, failures: [] });
});

test('block-host takes the addresses the name index holds now and its own lookup, and follows the index afterwards', async () => {
  const list = blocklist();
  const blocks = new HostBlocks(() => list);
  const names = new NameIndex();
  names.onLearn(({ host, aliases, addrs }) => blocks.learned(host, aliases, addrs));
  names.learnFromProcess(10, 'web.test', ['192.0.2.1'], null);
  names.learnFromWire('other.test', [['192.0.2.1', 60]]); // the global index now names .1 other.test: the process index still knows
  names.learnFromWire('web.test', [['192.0.2.2', 60]]);
  const looked: string[] = [];
  const sources: BlockHostSources = {
    indexAddrs: (matches) => names.addrsOf(matches),
    lookup: async (host) => {
      looked.push(host);
      return ['192.0.2.2', '192.0.2.3'];
    },
  };
  const result = await blockHost(blocks, 'WEB.test', sources);
  assert.deepEqual(looked, ['web.test']);
  assert.deepEqual(result, {
    name: 'web.test',
    added: true,
    addrs: ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
    new_addrs: ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
    lookup: { addrs: ['192.0.2.2', '192.0.2.3'] },
    refused: 0,
    failures: [],
  });
  names.learnFromWire('www.test', [['192.0.2.4', 60]], ['web.test']);
  assert.deepEqual(blocks.list()[0]?.addrs, ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'], 'a CNAME chain through the name');
  assert.deepEqual(prefixes(list), ['192.0.2.1/32', '192.0.2.2/32', '192.0.2.3/32', '192.0.2.4/32']);
});

test('a failed or slow lookup is reported, and the name stays blocked', async () => {
  const blocks = new HostBlocks(() => blocklist());
  const failed = await blockHost(blocks, 'gone.test', {
    indexAddrs: () => [],
    lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND gone.test'), { code: 'ENOTFOUND' })),
  });
  assert.deepEqual(failed.lookup, { error: 'getaddrinfo ENOTFOUND gone.test' });
  assert.deepEqual(failed.addrs, []);
  const slow = await blockHost(blocks, 'slow.test', { indexAddrs: () => [], lookup: () => new Promise(() => {}), lookupTimeoutMs: 20 });
  assert.deepEqual(slow.lookup, { error: 'no answer within 0.02 s' });
  const wildcard = await blockHost(blocks, '*.w.test', { indexAddrs: () => ['192.0.2.1'], lookup: () => assert.fail('a wildcard is not looked up') });
  assert.equal(wildcard.lookup, null);
  assert.deepEqual(
    blocks.list().map((row) => row.name),
    ['*.w.test', 'gone.test', 'slow.test'],
  );
  await assert.rejects(blockHost(blocks, 'bad name', { indexAddrs: () => [], lookup: async () => [] }), /is not a host name/);
});
