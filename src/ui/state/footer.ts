/** The last line of the screen: the keys of the current mode, as the keymap hints them. */
import { sanitize } from '../../format/sanitize.js';
import { seg, type Line } from './frame.js';
import { hintsOf, type KeyTarget, type Mode } from './keymap.js';

/** Said while a filter is typed, after its keys. */
const FILTER_SYNTAX = 'words: host: proc: addr: port: pid: proto: status: !not';

export interface FooterState extends KeyTarget {
  readonly mode: Mode;
  /** The filter being typed, null when not editing. */
  readonly editing: string | null;
}

/** The footer; `interactive` false when there is no keyboard. */
export function footerLine(ui: FooterState, interactive: boolean): Line {
  const hints = hintsOf(ui.mode, ui);
  if (ui.mode === 'filter') {
    const keys = [...hints.map(([key, text]) => `${key} ${text}`), FILTER_SYNTAX].join(' · ');
    return [seg('/', 'key'), seg(` filter: ${sanitize(ui.editing ?? '')}`), seg('█'), seg(`   ${keys}`, 'dim')];
  }
  if (!interactive) return [seg('no keyboard (stdin is not a terminal): Ctrl-C or SIGTERM stops hostflow', 'dim')];
  return hints.flatMap(([key, text]) => [seg(key, 'key'), seg(` ${text}  `)]);
}
