/** A session summary with nothing to report, for tests of the summary lines to add one thing to. */
import type { SessionSummary } from '../../src/session.js';

export const QUIET_SUMMARY: SessionSummary = {
  records: { dns: 1, conn: 2, flow: 3, udp: 4 },
  lost: {},
  lostTotal: 0,
  skipped: {},
  skippedTotal: 0,
  closesRecovered: 0,
  malformed: 0,
  events: 42,
  wireSkipped: {},
  late: 0,
  capture: null,
  blocked: [],
};
