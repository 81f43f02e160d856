/**
 * hostflow's own health as Prometheus metrics, read at each scrape from a
 * snapshot of the session's summary, the sinks' record counts, the storage
 * sink's status and the blocklist's totals: one table, one entry per
 * metric. Pure apart from prom-client's in-memory registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BlocklistTotals } from '../kernel/blocklist.js';
import { LOSS_COUNTERS } from '../kernel/counters.js';
import { RECORD_TYPES, type RecordType } from '../records/types.js';
import type { SessionSummary } from '../session.js';
import type { StorageStatus } from '../storage/status.js';
import type { LabelBoundStats } from './label-bound.js';

/** Records one sink was given, by type. */
export interface SinkCount {
  /** lines (stdout or --output), ui, storage. */
  sink: string;
  records: Record<RecordType, number>;
}

export interface HealthSnapshot {
  summary: SessionSummary;
  sinks: readonly SinkCount[];
  /** Null when the run stores nothing. */
  storage: StorageStatus | null;
  /** Null when the run has no blocklist. */
  blocklist: BlocklistTotals | null;
  labels: readonly LabelBoundStats[];
}

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];

interface HealthMetric {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
  labelNames?: readonly string[];
  /** Present only when the run has this part. */
  part?: 'storage' | 'blocklist';
  samples(snapshot: HealthSnapshot): Sample[];
}

const one = (value: number | undefined): Sample[] => [[{}, value ?? 0]];
const storage = (read: (status: StorageStatus) => number) => (s: HealthSnapshot) => (s.storage ? one(read(s.storage)) : []);
const blocklist = (read: (totals: BlocklistTotals) => number) => (s: HealthSnapshot) => (s.blocklist ? one(read(s.blocklist)) : []);
const perLabel = (read: (stats: LabelBoundStats) => number) => (s: HealthSnapshot) => s.labels.map((stats): Sample => [{ label: stats.label }, read(stats)]);

/** Every health metric: README "Metrics" lists them. */
export const HEALTH_METRICS: readonly HealthMetric[] = [
  { name: 'hostflow_events_total', help: 'kernel events decoded', kind: 'counter', samples: (s) => one(s.summary.events) },
  {
    name: 'hostflow_events_lost_total',
    help: 'kernel events lost, by the counter that saw it (a full ring buffer: drop_*; a full kernel table: *_full)',
    kind: 'counter',
    labelNames: ['counter'],
    samples: (s) => [...LOSS_COUNTERS].map((counter): Sample => [{ counter }, s.summary.lost[counter] ?? 0]),
  },
  {
    name: 'hostflow_events_late_total',
    help: 'events that arrived after the reorder window had passed their time (--reorder-window)',
    kind: 'counter',
    samples: (s) => one(s.summary.late),
  },
  { name: 'hostflow_events_malformed_total', help: 'kernel events that could not be decoded', kind: 'counter', samples: (s) => one(s.summary.malformed) },
  {
    name: 'hostflow_probe_runs_skipped_total',
    help: 'BPF program runs the kernel skipped (another BPF program ran on the CPU), by program',
    kind: 'counter',
    labelNames: ['program'],
    samples: (s) => Object.entries(s.summary.skipped).map(([program, runs]): Sample => [{ program }, runs]),
  },
  {
    name: 'hostflow_closes_recovered_total',
    help: 'TCP closes the lifecycle probes missed, written late (at socket destroy, at reuse of the socket, or by the sweep)',
    kind: 'counter',
    samples: (s) => one(s.summary.closesRecovered),
  },
  {
    name: 'hostflow_records_total',
    help: 'records written (after the record filters), by type',
    kind: 'counter',
    labelNames: ['type'],
    samples: (s) => RECORD_TYPES.map((type): Sample => [{ type }, s.summary.records[type]]),
  },
  {
    name: 'hostflow_sink_records_total',
    help: 'records given to each sink, by sink (lines, ui, storage) and type',
    kind: 'counter',
    labelNames: ['sink', 'type'],
    samples: (s) => s.sinks.flatMap(({ sink, records }) => RECORD_TYPES.map((type): Sample => [{ sink, type }, records[type]])),
  },
  {
    name: 'hostflow_storage_spool_bytes',
    help: 'bytes in the spool: batches waiting for upload and batches being written',
    kind: 'gauge',
    part: 'storage',
    samples: storage((status) => status.spoolBytes),
  },
  {
    name: 'hostflow_storage_spool_limit_bytes',
    help: 'spool size at which new records are refused (--spool-max-mb)',
    kind: 'gauge',
    part: 'storage',
    samples: storage((status) => status.spoolMaxBytes),
  },
  {
    name: 'hostflow_storage_spool_objects',
    help: 'finished batches (objects to be) in the spool, not yet uploaded',
    kind: 'gauge',
    part: 'storage',
    samples: storage((status) => status.backlogBatches),
  },
  {
    name: 'hostflow_storage_uploaded_objects_total',
    help: 'objects uploaded (or written to --storage-dir)',
    kind: 'counter',
    part: 'storage',
    samples: storage((status) => status.uploadedObjects),
  },
  {
    name: 'hostflow_storage_uploaded_records_total',
    help: 'records in the objects uploaded',
    kind: 'counter',
    part: 'storage',
    samples: storage((status) => status.uploadedRecords),
  },
  {
    name: 'hostflow_storage_uploaded_bytes_total',
    help: 'bytes uploaded',
    kind: 'counter',
    part: 'storage',
    samples: storage((status) => status.uploadedBytes),
  },
  {
    name: 'hostflow_storage_upload_failures_total',
    help: 'upload attempts that failed (each is retried: nothing is dropped)',
    kind: 'counter',
    part: 'storage',
    samples: storage((status) => status.failures),
  },
  {
    name: 'hostflow_storage_refused_records_total',
    help: 'records refused because the spool was full',
    kind: 'counter',
    part: 'storage',
    samples: storage((status) => status.refusedRecords),
  },
  {
    name: 'hostflow_storage_invalid_records_total',
    help: 'records that could not be encoded',
    kind: 'counter',
    part: 'storage',
    samples: storage((status) => status.invalidRecords),
  },
  {
    name: 'hostflow_storage_lost_records_total',
    help: 'records lost because writing to the spool failed',
    kind: 'counter',
    part: 'storage',
    samples: storage((status) => status.lostRecords),
  },
  {
    name: 'hostflow_libc_files',
    help: 'libc files found, by whether getaddrinfo is traced in them (attached)',
    kind: 'gauge',
    labelNames: ['attached'],
    samples: (s) => {
      const attached = s.summary.libc?.filter((file) => file.attached).length ?? 0;
      return [
        [{ attached: 'true' }, attached],
        [{ attached: 'false' }, (s.summary.libc?.length ?? 0) - attached],
      ];
    },
  },
  {
    name: 'hostflow_blocked_packets_total',
    help: 'packets the XDP blocklist dropped',
    kind: 'counter',
    part: 'blocklist',
    samples: blocklist((totals) => totals.packets),
  },
  {
    name: 'hostflow_blocked_bytes_total',
    help: 'bytes (L3) the XDP blocklist dropped',
    kind: 'counter',
    part: 'blocklist',
    samples: blocklist((totals) => totals.bytes),
  },
  {
    name: 'hostflow_blocklist_prefixes',
    help: 'source prefixes in the blocklist',
    kind: 'gauge',
    part: 'blocklist',
    samples: blocklist((totals) => totals.entries),
  },
  {
    name: 'hostflow_metrics_label_limit',
    help: 'distinct values a traffic label keeps before folding the rest into "(other)" (host: per process name)',
    kind: 'gauge',
    labelNames: ['label'],
    samples: perLabel((stats) => stats.limit),
  },
  {
    name: 'hostflow_metrics_label_values',
    help: 'distinct values a traffic label keeps now (host: over every process name)',
    kind: 'gauge',
    labelNames: ['label'],
    samples: perLabel((stats) => stats.values),
  },
  {
    name: 'hostflow_metrics_label_folded_total',
    help: 'times a traffic label value was folded into "(other)" because its label was at its limit',
    kind: 'counter',
    labelNames: ['label'],
    samples: perLabel((stats) => stats.folded),
  },
];

/** The health metrics of one run, registered for the parts it has. */
export class HealthMetrics {
  private readonly metrics: { spec: HealthMetric; metric: Counter | Gauge }[];

  constructor(registry: Registry, parts: { storage: boolean; blocklist: boolean }) {
    this.metrics = HEALTH_METRICS.filter((spec) => spec.part === undefined || parts[spec.part]).map((spec) => {
      const config = { name: spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [registry] };
      return { spec, metric: spec.kind === 'counter' ? new Counter(config) : new Gauge(config) };
    });
  }

  /** Sets every metric from the snapshot (a counter's value is the snapshot's: the sources are cumulative). */
  update(snapshot: HealthSnapshot): void {
    for (const { spec, metric } of this.metrics) {
      metric.reset();
      for (const [labels, value] of spec.samples(snapshot)) {
        if (metric instanceof Counter) metric.inc(labels, value);
        else metric.set(labels, value);
      }
    }
  }
}
