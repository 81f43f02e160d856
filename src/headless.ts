/**
 * The headless front-end: records as JSON lines (or readable text) on
 * stdout or in a rotated file; no view. Its reader going away
 * (`hostflow | head`) ends the run like a signal.
 */
import type { LineSinkOptions } from './output/line-sink.js';
import { lineOutput, type OutputSink } from './output/sinks.js';
import type { FrontEnd } from './run.js';

export function headless(output: LineSinkOptions, format: 'json' | 'text'): FrontEnd {
  return {
    holdsTerminal: false,
    stopSignals: ['SIGINT', 'SIGTERM'],
    open: (stop, log): OutputSink[] => [lineOutput({ ...output, onClosedReader: stop, log }, format)],
    show: () => {},
    close: () => {},
  };
}
