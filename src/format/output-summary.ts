/**
 * The summary's lines for the JSON-lines or text output: how many lines
 * reached the file (what a reader of it can count on), and the lines
 * dropped while writing failed (a full disk), with why. Pure.
 */
import type { LineSinkStats } from '../output/line-sink.js';
import { note, ok, problem, type SummaryLine } from './health.js';

export function outputSummaryLines(stats: LineSinkStats): SummaryLine[] {
  const lines: SummaryLine[] = [];
  if (stats.linesDropped > 0) {
    lines.push(
      problem(
        'output',
        `${stats.linesDropped} lines DROPPED: writing to ${stats.target} failed (${stats.lastError}); ${stats.linesWritten} written${stats.failing ? ', the last write failed too' : ', writing resumed'}`,
      ),
    );
  } else if (stats.writeErrors > 0) {
    lines.push(note('output', `${stats.writeErrors} rotations of ${stats.target} failed (${stats.lastError}); no line was lost`));
  }
  // stdout's lines are on the screen or in a pipe: counting them says nothing new.
  if (lines.length === 0 && stats.target !== 'stdout') lines.push(ok('output', `${stats.linesWritten} lines written to ${stats.target}`));
  return lines;
}

/** The `ctl stats` counters of the output. */
export function outputStats(stats: LineSinkStats): Record<string, number> {
  return { output_lines_written: stats.linesWritten, output_lines_dropped: stats.linesDropped, output_write_errors: stats.writeErrors };
}
