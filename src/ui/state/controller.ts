/**
 * What the operator is looking at: the view, the selection and scroll of
 * each view, sort, filter, pause, overlays. Pure TypeScript over a UiModel:
 * `press` runs what the keymap binds a key to, `frame` builds the screen
 * for a terminal size. Nothing here knows about Ink.
 */
import { sanitize } from '../../format/sanitize.js';
import { detailsOf } from './details.js';
import { parseFilter, matchesFilter } from './filter.js';
import { footerLine } from './footer.js';
import { blockHeight, seg, type Block, type Frame, type Line, type Segment, type TableFrame } from './frame.js';
import { formatClock } from './format.js';
import { headerLines, type HeaderInfo } from './header.js';
import { helpLines } from './help.js';
import { bindingOf, isText, keyName, pressOfChar, type KeyPress, type KeyResult, type KeyTarget, type Mode } from './keymap.js';
import { fitCell, fitColumns } from './layout.js';
import type { ModelCounts, UiModel } from './model.js';
import type { AnyRow, ConnRow, DnsRow, FlowRow, HostRow } from './rows.js';
import { CONNECTIONS_VIEW, VIEW_IDS, VIEWS, type CellContext, type ViewId, type ViewSpec } from './views.js';

export type { KeyPress, KeyResult } from './keymap.js';

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** Smallest terminal the tables are drawn in. */
export const MIN_SIZE: TerminalSize = { columns: 40, rows: 10 };
const FIXED_LINES = 5;
const FILTER_MAX = 200;

interface Cursor {
  sort: number;
  descending: boolean;
  selectedKey: string | null;
  selectedIndex: number;
  offset: number;
}

interface Snapshot {
  /** Epoch ms the rows are as of (the pause time when paused). */
  at: number | null;
  hosts(): readonly HostRow[];
  connections(): readonly ConnRow[];
  flows(): readonly FlowRow[];
  dns(): readonly DnsRow[];
  counts(): ModelCounts;
}

function freeze(model: UiModel, at: number): Snapshot {
  const hosts = model.hostRows();
  const connections = model.connectionRows();
  const flows = [...model.flowRows()];
  const dns = model.dnsRows();
  const counts = model.counts();
  return { at, hosts: () => hosts, connections: () => connections, flows: () => flows, dns: () => dns, counts: () => counts };
}

function live(model: UiModel): Snapshot {
  const memo = <T>(read: () => T) => {
    let value: T | undefined;
    return () => (value ??= read());
  };
  return {
    at: null,
    hosts: memo(() => model.hostRows()),
    connections: memo(() => model.connectionRows()),
    flows: memo(() => model.flowRows()),
    dns: memo(() => model.dnsRows()),
    counts: memo(() => model.counts()),
  };
}

function rowsOf(view: ViewId, snapshot: Snapshot): readonly AnyRow[] {
  switch (view) {
    case 'hosts':
      return snapshot.hosts();
    case 'connections':
      return snapshot.connections();
    case 'flows':
      return snapshot.flows();
    case 'dns':
      return snapshot.dns();
  }
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g; // eslint-disable-line no-control-regex

export class UiController implements KeyTarget {
  view: ViewId = 'hosts';
  /** The filter in force (while editing, the text typed so far). */
  filter = '';
  /** The filter being typed, null when not editing. */
  editing: string | null = null;
  paused = false;
  overlay: 'help' | 'details' | null = null;
  private filterBefore = '';
  private frozen: Snapshot | null = null;
  private readonly cursors = Object.fromEntries(
    VIEW_IDS.map((id) => [id, { sort: 0, descending: VIEWS[id].sorts[0]?.descending ?? true, selectedKey: null, selectedIndex: 0, offset: 0 }]),
  ) as Record<ViewId, Cursor>;
  /** Keys of the current view's rows as last drawn, in order. */
  private order: string[] = [];
  /** Rows in one page of the table as last drawn. */
  pageSize = 10;

  /**
   * @param interactive false when there is no keyboard (stdin not a terminal): the footer says how to stop instead.
   */
  constructor(
    private readonly model: UiModel,
    private readonly interactive = true,
    private readonly clock: () => number = Date.now,
  ) {}

  private get cursor(): Cursor {
    return this.cursors[this.view];
  }

  /** What the screen shows, which decides what a key does. */
  get mode(): Mode {
    return this.editing !== null ? 'filter' : (this.overlay ?? 'table');
  }

  /** Does what the keymap binds `key` to in the current mode; keys that arrive together are taken one by one. */
  press(key: KeyPress): KeyResult {
    // Keys typed faster than they are read (or pasted) arrive as one
    // string, control characters included.
    const chars = [...key.input];
    if (chars.length > 1 && !key.ctrl && !key.meta) {
      let result: KeyResult = 'none';
      for (const char of chars) {
        const one = this.press(pressOfChar(char));
        if (one === 'quit') return 'quit';
        if (one === 'update') result = 'update';
      }
      return result;
    }
    const mode = this.mode;
    if (mode === 'filter' && isText(key)) return this.type(key.input);
    const name = keyName(key);
    return name === null ? 'none' : (bindingOf(mode, name)?.run(this, name) ?? 'none');
  }

  /** Freezes the rows on screen; the model keeps taking records. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.frozen = paused ? freeze(this.model, this.clock()) : null;
  }

  // The actions of the keymap (KeyTarget).

  showHelp(): KeyResult {
    this.overlay = 'help';
    return 'update';
  }

  closeOverlay(): KeyResult {
    this.overlay = null;
    return 'update';
  }

  back(): KeyResult {
    if (this.overlay !== null) this.overlay = null;
    else if (this.filter !== '') this.filter = '';
    else return 'none';
    return 'update';
  }

  toggleDetails(): KeyResult {
    // With no row, the next frame closes it again.
    this.overlay = this.overlay === 'details' ? null : 'details';
    return 'update';
  }

  switchView(index: number): KeyResult {
    const next = VIEW_IDS[(index + VIEW_IDS.length) % VIEW_IDS.length] ?? 'hosts';
    if (next === this.view && this.overlay === null) return 'none';
    this.view = next;
    this.overlay = null;
    this.order = [];
    return 'update';
  }

  stepView(step: number): KeyResult {
    return this.switchView(VIEW_IDS.indexOf(this.view) + step);
  }

  move(delta: number): KeyResult {
    return this.moveTo(this.cursor.selectedIndex + delta);
  }

  moveTo(index: number): KeyResult {
    if (this.order.length === 0) return 'none';
    const clamped = Math.max(0, Math.min(this.order.length - 1, index));
    this.cursor.selectedIndex = clamped;
    this.cursor.selectedKey = this.order[clamped] ?? null;
    return 'update';
  }

  startFilter(): KeyResult {
    this.overlay = null;
    this.filterBefore = this.filter;
    this.editing = this.filter;
    return 'update';
  }

  endFilter(keep: boolean): KeyResult {
    this.filter = keep ? (this.editing ?? '').trim() : this.filterBefore;
    this.editing = null;
    return 'update';
  }

  eraseFilter(all: boolean): KeyResult {
    this.editing = all ? '' : (this.editing ?? '').slice(0, -1);
    this.filter = this.editing;
    return 'update';
  }

  /** Types text into the filter; control characters are dropped. */
  private type(input: string): KeyResult {
    const typed = input.replace(CONTROL, '');
    if (typed === '') return 'none';
    this.editing = ((this.editing ?? '') + typed).slice(0, FILTER_MAX);
    this.filter = this.editing;
    return 'update';
  }

  nextSort(): KeyResult {
    const sorts = VIEWS[this.view].sorts;
    this.cursor.sort = (this.cursor.sort + 1) % sorts.length;
    this.cursor.descending = sorts[this.cursor.sort]?.descending ?? true;
    return 'update';
  }

  reverseSort(): KeyResult {
    this.cursor.descending = !this.cursor.descending;
    return 'update';
  }

  togglePause(): KeyResult {
    this.setPaused(!this.paused);
    return 'update';
  }

  clear(): KeyResult {
    this.model.clear();
    if (this.paused) this.frozen = freeze(this.model, this.clock());
    this.overlay = null;
    return 'update';
  }

  /** The screen for a terminal of this size; `header` is the session's state right now. */
  frame(size: TerminalSize, header: HeaderInfo): Frame {
    const width = Math.max(1, size.columns);
    const height = Math.max(1, size.rows - 1);
    const [headerFirst, headerSecond] = headerLines(header, this.paused);
    if (size.columns < MIN_SIZE.columns || size.rows < MIN_SIZE.rows) {
      const small: Line = [seg(`terminal too small: ${size.columns}x${size.rows}, hostflow needs ${MIN_SIZE.columns}x${MIN_SIZE.rows}`, 'warn')];
      return { width, height, header: [headerFirst, small], tabs: [], caption: [], body: [], footer: footerLine(this, this.interactive) };
    }
    const snapshot = this.paused && this.frozen ? this.frozen : live(this.model);
    const context: CellContext = { now: snapshot.at ?? this.clock(), flowIntervalSeconds: this.model.flowIntervalSeconds };
    const spec = VIEWS[this.view];
    const all = rowsOf(this.view, snapshot);
    const shown = this.arrange(spec, all);
    const bodyHeight = height - FIXED_LINES;
    this.pageSize = Math.max(1, bodyHeight - 1);
    const selected = this.select(shown);

    let body: Block[];
    if (this.overlay === 'help') body = helpLines(header.xdp).map((line) => ({ kind: 'line', line }));
    else if (this.overlay === 'details' && selected) body = this.details(selected, snapshot, context, width, bodyHeight);
    else body = this.table(spec, shown, all.length, context, width);
    body = fitBody(body, bodyHeight);

    return {
      width,
      height,
      header: [headerFirst, headerSecond],
      tabs: this.tabs(),
      caption: this.caption(spec, snapshot.counts(), shown.length, all.length),
      body,
      footer: footerLine(this, this.interactive),
    };
  }

  /** Filtered and sorted rows of the current view. */
  private arrange(spec: ViewSpec<AnyRow>, all: readonly AnyRow[]): AnyRow[] {
    const terms = parseFilter(this.filter);
    const shown = terms.length > 0 ? all.filter((row) => matchesFilter(spec.search(row), terms)) : [...all];
    const sort = spec.sorts[this.cursor.sort];
    if (sort) {
      const direction = this.cursor.descending ? -1 : 1;
      shown.sort((a, b) => direction * sort.compare(a, b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    return shown;
  }

  /** Keeps the selection on the same row as rows move, or at the same place when it left. */
  private select(shown: readonly AnyRow[]): AnyRow | undefined {
    const cursor = this.cursor;
    this.order = shown.map((row) => row.key);
    // At the top the selection stays at the top (the newest or biggest row,
    // as the sort says); elsewhere, and in details, it follows its row.
    const stickToTop = cursor.selectedIndex === 0 && this.overlay !== 'details';
    let index = stickToTop || cursor.selectedKey === null ? -1 : this.order.indexOf(cursor.selectedKey);
    if (index < 0) index = Math.max(0, Math.min(cursor.selectedIndex, shown.length - 1));
    cursor.selectedIndex = index;
    cursor.selectedKey = this.order[index] ?? null;
    if (index < cursor.offset) cursor.offset = index;
    if (index >= cursor.offset + this.pageSize) cursor.offset = index - this.pageSize + 1;
    cursor.offset = Math.max(0, Math.min(cursor.offset, shown.length - this.pageSize));
    if (this.overlay === 'details' && shown.length === 0) this.overlay = null;
    return shown[index];
  }

  private table(spec: ViewSpec<AnyRow>, shown: readonly AnyRow[], total: number, context: CellContext, width: number): Block[] {
    const cursor = this.cursor;
    const visible = shown.slice(cursor.offset, cursor.offset + this.pageSize);
    const sortColumn = spec.sorts[cursor.sort]?.column;
    const table = buildTable(spec, visible, context, width, {
      selectedKey: this.interactive ? cursor.selectedKey : null,
      sortColumn,
      descending: cursor.descending,
    });
    const blocks: Block[] = [{ kind: 'table', table }];
    if (shown.length === 0) {
      const why =
        total > 0
          ? `nothing matches the filter "${sanitize(this.filter)}" (Esc clears it)`
          : `no ${spec.title.toLowerCase()} yet${this.paused ? ' (paused: p resumes)' : ''}`;
      blocks.push({ kind: 'line', line: [seg(`  ${why}`, 'dim')] });
    }
    return blocks;
  }

  private details(row: AnyRow, snapshot: Snapshot, context: CellContext, width: number, height: number): Block[] {
    const details = detailsOf(this.view, row, { ...context, connections: () => snapshot.connections() });
    const labelWidth = Math.max(...details.fields.map(([label]) => label.length)) + 2;
    const blocks: Block[] = [
      { kind: 'line', line: [seg(details.title, 'title')] },
      ...details.fields.map(([label, value]): Block => ({ kind: 'line', line: [seg(`  ${label.padEnd(labelWidth)}`, 'dim'), seg(value)] })),
    ];
    if (details.connections) {
      const room = height - blocks.length - 2;
      const connections = [...details.connections].sort((a, b) => CONNECTIONS_VIEW.sorts[0]!.compare(a, b));
      blocks.push({ kind: 'line', line: [seg(`connections (${connections.length})`, 'title')] });
      if (room > 0 && connections.length > 0) {
        const shownRows = connections.slice(0, connections.length > room ? room - 1 : room);
        const spec = VIEWS.connections;
        blocks.push({ kind: 'table', table: buildTable(spec, shownRows, context, width, { selectedKey: null, sortColumn: undefined, descending: false }) });
        if (shownRows.length < connections.length)
          blocks.push({ kind: 'line', line: [seg(`  … ${connections.length - shownRows.length} more (Connections view, filter host:…)`, 'dim')] });
      }
    }
    return blocks;
  }

  private tabs(): Line {
    const line: Segment[] = [];
    VIEW_IDS.forEach((id, index) => {
      line.push(seg(` ${index + 1} ${VIEWS[id].title} `, id === this.view ? 'tabActive' : 'tab'), seg(' '));
    });
    return line;
  }

  private caption(spec: ViewSpec<AnyRow>, counts: ModelCounts, shown: number, total: number): Line {
    const line: Segment[] = [seg(summaryOf(this.view, counts, this.model), 'dim')];
    const sort = spec.sorts[this.cursor.sort];
    if (sort) line.push(seg('  sort ', 'dim'), seg(`${sort.label} ${this.cursor.descending ? '▼' : '▲'}`));
    if (this.filter !== '' && this.editing === null) line.push(seg('  filter ', 'dim'), seg(sanitize(this.filter), 'warn'));
    const position = shown === 0 ? 0 : this.cursor.selectedIndex + 1;
    line.push(seg(`  ${position}/${shown}${shown !== total ? ` of ${total}` : ''}`, 'dim'));
    return line;
  }
}

function summaryOf(view: ViewId, counts: ModelCounts, model: UiModel): string {
  switch (view) {
    case 'hosts':
      return `${counts.hosts} hosts, ${counts.open} open connections`;
    case 'connections':
      return `${counts.open} open, ${counts.closed} closed in the last ${Math.round(model.limits.closedRetentionMs / 1000)}s (TCP and UDP)`;
    case 'flows':
      return counts.flowsEndedAt === 0
        ? `first ${model.flowIntervalSeconds}s flow interval not in yet`
        : `${model.flowIntervalSeconds}s interval to ${formatClock(counts.flowsEndedAt)}, ${counts.flows} flows${counts.flowsOmitted > 0 ? ` (+${counts.flowsOmitted} smaller)` : ''}`;
    case 'dns': {
      // Which process causes the failures, without a key pressed.
      const failing = counts.failingProcesses.map(({ label, failed }) => `${label} ${failed}`).join(', ');
      return `last ${counts.lookups} lookups, ${counts.lookupsFailed === 0 ? 'none failed' : `failed: ${failing}`}`;
    }
  }
}

/** Cells of `rows` fitted to `width`; only the given rows are formatted. */
export function buildTable(
  spec: ViewSpec<AnyRow>,
  rows: readonly AnyRow[],
  context: CellContext,
  width: number,
  options: { selectedKey: string | null; sortColumn: string | undefined; descending: boolean },
): TableFrame {
  const widths = fitColumns(spec.columns, width);
  const kept = spec.columns.map((column, index) => ({ column, width: widths[index] ?? 0 })).filter(({ width: w }) => w > 0);
  const sortedColumn = kept.findIndex(({ column }) => column.id === options.sortColumn);
  return {
    widths: kept.map(({ width: w }) => w),
    aligns: kept.map(({ column }) => column.align ?? 'left'),
    heading: kept.map(({ column, width: w }, index) =>
      fitCell(index === sortedColumn ? `${column.title}${options.descending ? '▼' : '▲'}` : column.title, w, column.align),
    ),
    sortedColumn,
    rows: rows.map((row) => ({
      key: row.key,
      cells: kept.map(({ column, width: w }) => fitCell(column.text(row, context), w, column.align)),
      tone: spec.tone(row),
      selected: row.key === options.selectedKey,
    })),
  };
}

/** Cuts or pads the body to exactly `height` lines. */
function fitBody(blocks: Block[], height: number): Block[] {
  const fitted: Block[] = [];
  let used = 0;
  for (const block of blocks) {
    const room = height - used;
    if (room <= 0) break;
    if (block.kind === 'table' && blockHeight(block) > room) {
      fitted.push({ kind: 'table', table: { ...block.table, rows: block.table.rows.slice(0, room - 1) } });
      used = height;
      break;
    }
    fitted.push(block);
    used += blockHeight(block);
  }
  while (used < height) {
    fitted.push({ kind: 'line', line: [] });
    used++;
  }
  return fitted;
}
