/**
 * How each tone looks on the terminal. Under NO_COLOR (https://no-color.org:
 * set and not empty) no colour is used, only bold, dim, underline and
 * inverse, which every terminal shows.
 */
import type { TextProps } from 'ink';
import type { Tone } from './state/frame.js';
import type { RowTone } from './state/views.js';

export type Style = Pick<TextProps, 'color' | 'backgroundColor' | 'dimColor' | 'bold' | 'underline' | 'inverse'>;

export interface Theme {
  tones: Record<Tone, Style>;
  rows: Record<RowTone, Style>;
  colors: boolean;
}

export function wantsColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === '';
}

const COLOR: Theme = {
  colors: true,
  tones: {
    normal: {},
    title: { bold: true, color: 'cyan' },
    dim: { dimColor: true },
    key: { bold: true, color: 'yellow' },
    tab: {},
    tabActive: { bold: true, inverse: true },
    heading: { bold: true, color: 'black', backgroundColor: 'green' },
    headingSorted: { bold: true, color: 'black', backgroundColor: 'cyan' },
    selected: { inverse: true },
    warn: { bold: true, color: 'yellow' },
    alert: { bold: true, color: 'white', backgroundColor: 'red' },
    paused: { bold: true, color: 'black', backgroundColor: 'yellow' },
  },
  rows: { normal: {}, dim: { dimColor: true }, warn: { color: 'yellow' } },
};

const MONO: Theme = {
  colors: false,
  tones: {
    normal: {},
    title: { bold: true },
    dim: { dimColor: true },
    key: { bold: true },
    tab: {},
    tabActive: { bold: true, inverse: true },
    heading: { bold: true, inverse: true },
    headingSorted: { bold: true, inverse: true, underline: true },
    selected: { inverse: true },
    warn: { bold: true },
    alert: { bold: true, inverse: true },
    paused: { bold: true, inverse: true },
  },
  rows: { normal: {}, dim: { dimColor: true }, warn: { bold: true } },
};

export function themeFor(env: NodeJS.ProcessEnv = process.env): Theme {
  return wantsColor(env) ? COLOR : MONO;
}
