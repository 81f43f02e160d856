import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UiController, type KeyPress } from '../../../../src/ui/state/controller.js';
import { lineText, type Frame } from '../../../../src/ui/state/frame.js';
import { EMPTY_HEADER } from '../../../../src/ui/state/header.js';
import { UiModel } from '../../../../src/ui/state/model.js';
import { BASE_MS, connOpen, dns, flow, udpClose, udpOpen } from '../fixtures.js';

const NOW = BASE_MS + 5000;
const SIZE = { columns: 80, rows: 24 };

function setup(hosts = 3) {
  const model = new UiModel({ flowIntervalSeconds: 1 }, () => NOW);
  for (let i = 0; i < hosts; i++) {
    const name = `host${String(i).padStart(3, '0')}.example`;
    const who = { comm: i % 2 ? 'curl' : 'wget', pid: 100 + i };
    model.add(dns(name, [`10.0.${i >> 8}.${i & 255}`], who));
    model.add(connOpen(name, `10.0.${i >> 8}.${i & 255}`, 40000 + i, who));
  }
  model.tick(NOW);
  const controller = new UiController(model, true, () => NOW);
  return { model, controller };
}

const key = (input: string, extra: Omit<KeyPress, 'input'> = {}): KeyPress => ({ input, ...extra });
const type = (controller: UiController, text: string) => [...text].map((char) => controller.press(key(char)));

/** The frame as lines of text, the way the screen shows them. */
function lines(frame: Frame): string[] {
  const out = [...frame.header.map(lineText), lineText(frame.tabs), lineText(frame.caption)];
  for (const block of frame.body) {
    if (block.kind === 'line') out.push(lineText(block.line));
    else out.push(block.table.heading.join(' '), ...block.table.rows.map((row) => row.cells.join(' ')));
  }
  out.push(lineText(frame.footer));
  return out;
}

const selectedKey = (frame: Frame) => frame.body.flatMap((block) => (block.kind === 'table' ? block.table.rows : [])).find((row) => row.selected)?.key;
const tableRows = (frame: Frame) => frame.body.flatMap((block) => (block.kind === 'table' ? block.table.rows : []));

test('every view fills a 80x24 terminal to one line short of its height, tables within the width', () => {
  const { controller, model } = setup(40);
  model.add(flow('10.0.0.1', 'host000.example', 1000));
  model.add(udpClose(udpOpen(null, '2001:db8:ffff:ffff:ffff:ffff:ffff:1', 65535), 10_000_000, 123_456_789));
  model.add(dns('a-rather-long-name-that-does-not-exist.corp.example', [], { status: 'NXDOMAIN', source: 'wire', comm: 'resolver-agent-x' }));
  model.tick(NOW);
  for (const view of ['1', '2', '3', '4']) {
    controller.press(key(view));
    const frame = controller.frame(SIZE, EMPTY_HEADER);
    const text = lines(frame);
    assert.equal(text.length, 23, `view ${view}:\n${text.join('\n')}`);
    for (const block of frame.body) {
      if (block.kind !== 'table') continue;
      const width = block.table.widths.reduce((sum, w) => sum + w, 0) + block.table.widths.length - 1;
      assert.ok(width <= 80, `view ${view}: table ${width} wide`);
      for (const row of block.table.rows) row.cells.forEach((cell, i) => assert.equal([...cell].length, block.table.widths[i]));
    }
  }
});

test('Tab, Shift-Tab and the digits switch views', () => {
  const { controller } = setup();
  assert.equal(controller.view, 'hosts');
  controller.press(key('', { tab: true }));
  assert.equal(controller.view, 'connections');
  controller.press(key('', { tab: true, shift: true }));
  controller.press(key('', { tab: true, shift: true }));
  assert.equal(controller.view, 'dns');
  controller.press(key('3'));
  assert.equal(controller.view, 'flows');
});

test('the selection stays on its row when rows move, and paging keeps it on screen', () => {
  const { controller, model } = setup(60);
  controller.press(key('s'));
  controller.press(key('s'));
  controller.press(key('s'));
  controller.press(key('s')); // last seen
  controller.frame(SIZE, EMPTY_HEADER);
  controller.press(key('', { downArrow: true }));
  controller.press(key('j'));
  const chosen = selectedKey(controller.frame(SIZE, EMPTY_HEADER));
  assert.ok(chosen);
  model.add(dns('newest.example', ['10.9.9.9'], { ts: new Date(NOW).toISOString() }));
  const after = controller.frame(SIZE, EMPTY_HEADER);
  assert.equal(selectedKey(after), chosen, 'a new row on top does not move the selection to another host');
  controller.press(key('', { pageDown: true }));
  controller.press(key('', { pageDown: true }));
  const paged = controller.frame(SIZE, EMPTY_HEADER);
  assert.ok(selectedKey(paged), 'the selected row is among the visible ones');
  assert.match(lineText(paged.caption), / 38\/61/, 'two pages of 17 below row 4');
  controller.press(key('', { end: true }));
  assert.match(lineText(controller.frame(SIZE, EMPTY_HEADER).caption), / 61\/61/);
  controller.press(key('g'));
  assert.match(lineText(controller.frame(SIZE, EMPTY_HEADER).caption), / 1\/61/);
});

test('/ filters as you type; Enter keeps it, Esc drops the edit, Esc again clears it', () => {
  const { controller } = setup(12);
  controller.press(key('/'));
  type(controller, 'host01');
  assert.equal(tableRows(controller.frame(SIZE, EMPTY_HEADER)).length, 2, 'host010, host011');
  controller.press(key('', { backspace: true }));
  controller.press(key('', { escape: true }));
  assert.equal(controller.filter, '');
  controller.press(key('/'));
  type(controller, 'proc:curl q');
  assert.equal(controller.editing, 'proc:curl q', 'q is typed, not quit, while editing');
  controller.press(key('', { backspace: true }));
  controller.press(key('', { return: true }));
  assert.equal(controller.filter, 'proc:curl');
  const frame = controller.frame(SIZE, EMPTY_HEADER);
  assert.equal(tableRows(frame).length, 6);
  assert.match(lineText(frame.caption), /filter proc:curl/);
  controller.press(key('/'));
  controller.press(key('x\u0007y'));
  assert.equal(controller.editing, 'proc:curlxy', 'control characters are not typed');
  controller.press(key('', { escape: true }));
  controller.press(key('', { escape: true }));
  assert.equal(controller.filter, '');
  controller.press(key('/'));
  type(controller, 'nothing-like-this');
  controller.press(key('', { return: true }));
  assert.ok(lines(controller.frame(SIZE, EMPTY_HEADER)).some((line) => line.includes('nothing matches the filter')));
});

test('keys that arrive together as one string are taken one by one, the rest of a filter typed at once', () => {
  const { controller } = setup(12);
  assert.equal(controller.press(key('2/port:40003')), 'update');
  assert.equal(controller.view, 'connections');
  assert.equal(controller.editing, 'port:40003');
  controller.press(key('', { return: true }));
  assert.equal(tableRows(controller.frame(SIZE, EMPTY_HEADER)).length, 1);
  controller.press(key('/x\u007f\u007f\u007f\u007f\u007f\r'));
  assert.equal(controller.filter, 'port:4', 'Enter and Backspace inside the string count');
  assert.equal(controller.press(key('1q')), 'quit');
});

test('s cycles the sort orders of the view and S reverses the order', () => {
  const { controller } = setup(5);
  controller.press(key('s'));
  controller.press(key('s'));
  controller.press(key('s'));
  controller.press(key('s'));
  controller.press(key('s')); // name, ascending
  let frame = controller.frame(SIZE, EMPTY_HEADER);
  assert.match(lineText(frame.caption), /sort name ▲/);
  assert.deepEqual(
    tableRows(frame).map((row) => row.key),
    ['host000.example', 'host001.example', 'host002.example', 'host003.example', 'host004.example'],
  );
  controller.press(key('S'));
  frame = controller.frame(SIZE, EMPTY_HEADER);
  assert.equal(tableRows(frame)[0]?.key, 'host004.example');
  const heading = frame.body.find((block) => block.kind === 'table');
  assert.ok(heading?.kind === 'table' && heading.table.heading[heading.table.sortedColumn]?.startsWith('HOST▼'));
  controller.press(key('s'));
  assert.match(lineText(controller.frame(SIZE, EMPTY_HEADER).caption), /sort rate ▼/, 'back to the first');
});

test('p freezes the rows while the model keeps taking records; c clears', () => {
  const { controller, model } = setup(3);
  controller.press(key('p'));
  model.add(dns('late.example', ['10.8.8.8']));
  let frame = controller.frame(SIZE, EMPTY_HEADER);
  assert.equal(tableRows(frame).length, 3);
  assert.match(lineText(frame.header[0] ?? []), /PAUSED/);
  assert.equal(model.records, 7, 'the record was taken');
  controller.press(key('p'));
  frame = controller.frame(SIZE, EMPTY_HEADER);
  assert.equal(tableRows(frame).length, 4);
  assert.doesNotMatch(lineText(frame.header[0] ?? []), /PAUSED/);
  controller.press(key('c'));
  assert.equal(tableRows(controller.frame(SIZE, EMPTY_HEADER)).length, 0);
});

test('Enter shows the details of the selected row in every view, Esc goes back', () => {
  const { controller, model } = setup(2);
  model.add(flow('10.0.0.1', 'host001.example', 1000));
  model.tick(NOW);
  const expected: Record<string, RegExp> = {
    '1': /addresses\s+10\.0\.0\.\d[\s\S]*connections \(1\)/,
    '2': /parent pid\s+1\n[\s\S]*executable\s+\/usr\/bin\/curl[\s\S]*connect latency\s+0\.800ms[\s\S]*connect probe\s+tracepoint/,
    '3': /TCP flags\s+PSH ACK/,
    '4': /executable\s+\/usr\/bin\/curl[\s\S]*process lookups\s+1 lookup, none failed[\s\S]*answers\s+10\.0\.0\.\d/,
  };
  for (const [view, pattern] of Object.entries(expected)) {
    controller.press(key(view));
    controller.press(key('', { return: true }));
    assert.equal(controller.overlay, 'details');
    assert.match(lines(controller.frame(SIZE, EMPTY_HEADER)).join('\n'), pattern, `view ${view}`);
    controller.press(key('', { escape: true }));
    assert.equal(controller.overlay, null);
  }
  controller.press(key('c'));
  controller.press(key('', { return: true }));
  controller.frame(SIZE, EMPTY_HEADER);
  assert.equal(controller.overlay, null, 'nothing to show details of');
});

test('? shows the help, q and Ctrl-C quit', () => {
  const { controller } = setup();
  controller.press(key('?'));
  assert.match(lines(controller.frame(SIZE, EMPTY_HEADER)).join('\n'), /pause the screen/);
  controller.press(key('', { escape: true }));
  assert.equal(controller.overlay, null);
  assert.equal(controller.press(key('q')), 'quit');
  assert.equal(controller.press(key('c', { ctrl: true })), 'quit');
  controller.press(key('/'));
  assert.equal(controller.press(key('c', { ctrl: true })), 'quit', 'even while editing the filter');
});

test('a terminal too small says so instead of drawing broken tables', () => {
  const { controller } = setup();
  const frame = controller.frame({ columns: 30, rows: 8 }, EMPTY_HEADER);
  assert.match(lines(frame).join('\n'), /terminal too small: 30x8/);
  assert.equal(frame.body.length, 0);
});

test('without a keyboard there is no selection and the footer says how to stop', () => {
  const model = new UiModel({}, () => NOW);
  model.add(dns('a.example', ['10.0.0.1']));
  const controller = new UiController(model, false, () => NOW);
  const frame = controller.frame(SIZE, EMPTY_HEADER);
  assert.equal(selectedKey(frame), undefined);
  assert.match(lineText(frame.footer), /stdin is not a terminal/);
});

test('the details of an ended UDP conversation say why it ended and what went each way', () => {
  const model = new UiModel({}, () => NOW);
  model.add(udpClose(udpOpen('stun.example.net', '198.51.100.3', 40000, { dport: 3478, cmdline: 'app --stun' }), 240, 480, { end_reason: 'stop' }));
  const controller = new UiController(model, true, () => NOW);
  controller.press(key('2'));
  controller.frame(SIZE, EMPTY_HEADER);
  controller.press(key('', { return: true }));
  const text = lines(controller.frame(SIZE, EMPTY_HEADER)).join('\n');
  assert.match(text, /UDP 10\.0\.0\.2:40000 <-> 198\.51\.100\.3:3478/);
  assert.match(text, /command line\s+app --stun/);
  assert.match(text, /host\s+stun\.example\.net \(named by the server name \(SNI\) of its QUIC Initial\)/);
  assert.match(text, /state\s+ended: hostflow stopped/);
  assert.match(text, /packets sent\s+1\n\s+bytes sent\s+240 \(240B\)\n\s+packets received\s+1\n\s+bytes received\s+480 \(480B\)/);
});
