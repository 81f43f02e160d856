/**
 * The questions `hostflow query` answers without SQL, each one documented
 * query over the views (`--print-sql` shows it; the README lists them).
 * A connection is a TCP connection (`conn`) or a UDP conversation (`udp`);
 * a value the user gives is a bound parameter ($1), never spliced into SQL.
 */
export interface CannedQuestion {
  /** The flag that asks it. */
  flag: string;
  /** What it answers, for --help and the README. */
  description: string;
  /** The SQL; `limit` is a validated positive integer. */
  sql(limit: number): string;
  /** Whether the flag takes a value ($1). */
  takesValue: boolean;
}

/** Each connection once, at its end: the record that has its bytes and its final name (a `named` record may have named it after it opened). */
const ENDED = `
  SELECT hostname, pid, comm, 'tcp' AS proto, daddr, dport, host, unresolved,
         coalesce(bytes_sent, 0) AS bytes_sent, coalesce(bytes_received, 0) AS bytes_received
  FROM conn WHERE event = 'close'
  UNION ALL
  SELECT hostname, pid, comm, 'udp', daddr, dport, host, unresolved,
         coalesce(bytes_sent, 0), coalesce(bytes_received, 0)
  FROM udp WHERE event = 'close'`;

export const CANNED_QUESTIONS = {
  topHosts: {
    flag: '--top-hosts',
    description:
      'top hostnames by bytes per process: for each process name, the hosts (or addresses, when unnamed) its ended connections moved the most bytes with',
    takesValue: false,
    sql: (limit: number) => `WITH ended AS (${ENDED}
),
totals AS (
  SELECT comm AS process, coalesce(host, daddr) AS host, count(*) AS connections,
         sum(bytes_sent) AS bytes_sent, sum(bytes_received) AS bytes_received,
         sum(bytes_sent + bytes_received) AS bytes
  FROM ended GROUP BY ALL
)
SELECT process, host, connections, bytes_sent, bytes_received, bytes
FROM totals
QUALIFY row_number() OVER (PARTITION BY process ORDER BY bytes DESC, host) <= ${limit}
ORDER BY sum(bytes) OVER (PARTITION BY process) DESC, process, bytes DESC, host`,
  },
  whoResolved: {
    flag: '--who-resolved <name>',
    description: 'who resolved a name: every lookup of it, or of a name whose CNAME chain holds it, with its machine, process and answer',
    takesValue: true,
    sql: () => `SELECT ts, hostname, pid, comm, exe, host, status, addrs, source
FROM dns
WHERE host = lower(rtrim($1, '.'))
   OR list_contains(cnames, lower(rtrim($1, '.')))
ORDER BY ts, hostname, pid`,
  },
  whoReached: {
    flag: '--who-reached <address>',
    description:
      'which hosts reached an address: per machine, process and port, the connections made to it (attempts that failed included), first and last time',
    takesValue: true,
    sql: () => `WITH attempts AS (
  SELECT hostname, pid, comm, 'tcp' AS proto, dport, host, ts, established
  FROM conn
  WHERE daddr = $1 AND direction = 'out' AND (event = 'open' OR (event = 'close' AND established = false))
  UNION ALL
  SELECT hostname, pid, comm, 'udp', dport, host, ts, NULL
  FROM udp WHERE daddr = $1 AND event = 'open'
)
SELECT hostname, pid, comm, proto, dport, count(*) AS connections,
       count(*) FILTER (WHERE established = false) AS failed,
       string_agg(DISTINCT host, ',' ORDER BY host) AS hosts,
       min(ts) AS first, max(ts) AS last
FROM attempts GROUP BY ALL
ORDER BY hostname, first, pid`,
  },
  unresolved: {
    flag: '--unresolved',
    description: 'unresolved connections by reason: ended connections no name was found for, per reason and process, with the addresses they went to',
    takesValue: false,
    sql: (limit: number) => `WITH ended AS (${ENDED}
)
SELECT unresolved AS reason, comm AS process, count(*) AS connections,
       count(DISTINCT daddr) AS addresses,
       list(DISTINCT daddr ORDER BY daddr)[1:${limit}] AS first_addresses
FROM ended WHERE host IS NULL
GROUP BY ALL
ORDER BY connections DESC, reason, process`,
  },
} satisfies Record<string, CannedQuestion>;

export type CannedName = keyof typeof CANNED_QUESTIONS;
