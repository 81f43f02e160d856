/**
 * The `/` filter: words separated by spaces, each of which must match.
 * A bare word matches a name, a process, an address, a status (substrings)
 * or a port, pid or protocol (exactly); `host:`, `proc:`, `addr:`, `port:`,
 * `pid:`, `proto:`, `status:` narrow it to one field; a leading `!`
 * negates. Case-insensitive.
 */

export type FilterField = 'any' | 'host' | 'process' | 'address' | 'port' | 'pid' | 'proto' | 'status';

export interface FilterTerm {
  field: FilterField;
  value: string;
  negate: boolean;
}

/** What a row offers the filter. Strings are matched lower-cased. */
export interface SearchFields {
  hosts: readonly (string | null)[];
  processes: readonly (string | null)[];
  addresses: readonly string[];
  ports: readonly number[];
  pids: readonly (number | null)[];
  /** tcp, udp, icmp, ... */
  protos: readonly string[];
  /** A lookup's status (NXDOMAIN, TIMEOUT, EAI_NONAME, and `failed` for every failure), a connection's state and end. */
  statuses: readonly (string | null)[];
}

const FIELDS: Record<string, FilterField> = {
  host: 'host',
  name: 'host',
  proc: 'process',
  process: 'process',
  comm: 'process',
  addr: 'address',
  address: 'address',
  ip: 'address',
  port: 'port',
  pid: 'pid',
  proto: 'proto',
  status: 'status',
};

export function parseFilter(text: string): FilterTerm[] {
  const terms: FilterTerm[] = [];
  for (let word of text.trim().toLowerCase().split(/\s+/)) {
    const negate = word.startsWith('!');
    if (negate) word = word.slice(1);
    const colon = word.indexOf(':');
    const field = colon > 0 ? FIELDS[word.slice(0, colon)] : undefined;
    const value = field ? word.slice(colon + 1) : word;
    if (value !== '') terms.push({ field: field ?? 'any', value, negate });
  }
  return terms;
}

const contains = (values: readonly (string | null)[], value: string) => values.some((v) => v !== null && v.toLowerCase().includes(value));
const equals = (values: readonly (number | string | null)[], value: string) => values.some((v) => v !== null && String(v).toLowerCase() === value);

function matchesTerm(fields: SearchFields, { field, value }: FilterTerm): boolean {
  switch (field) {
    case 'host':
      return contains(fields.hosts, value);
    case 'process':
      return contains(fields.processes, value);
    case 'address':
      return contains(fields.addresses, value);
    case 'port':
      return equals(fields.ports, value);
    case 'pid':
      return equals(fields.pids, value);
    case 'proto':
      return equals(fields.protos, value);
    case 'status':
      return contains(fields.statuses, value);
    case 'any':
      return (
        contains(fields.hosts, value) ||
        contains(fields.processes, value) ||
        contains(fields.addresses, value) ||
        contains(fields.statuses, value) ||
        equals(fields.ports, value) ||
        equals(fields.pids, value) ||
        equals(fields.protos, value)
      );
  }
}

export function matchesFilter(fields: SearchFields, terms: readonly FilterTerm[]): boolean {
  return terms.every((term) => matchesTerm(fields, term) !== term.negate);
}
