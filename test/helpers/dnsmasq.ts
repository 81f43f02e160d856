/**
 * dnsmasq as the test DNS server: the records a test asks for, turned into a
 * command line (pure, unit-tested), and its query log parsed back.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A name with A and/or AAAA records (dnsmasq --host-record). */
export interface DnsHost {
  name: string;
  /** A records. */
  ipv4?: string | readonly string[];
  /** AAAA records. */
  ipv6?: string | readonly string[];
  /** TTL of these records in seconds. @default the server's `ttl` */
  ttl?: number;
}

/** A CNAME record (dnsmasq --cname); the target must be a DnsHost or another DnsCname. */
export interface DnsCname {
  alias: string;
  target: string;
  /** @default the server's `ttl` */
  ttl?: number;
}

export interface DnsmasqConfig {
  /** Addresses to listen on, UDP and TCP port 53. */
  listen: readonly string[];
  hosts?: readonly DnsHost[];
  cnames?: readonly DnsCname[];
  /** TTL of local records without their own (--local-ttl). @default 60 */
  ttl?: number;
  /** File the query log (--log-queries=extra) is written to. */
  logFile: string;
  /** Answer NXDOMAIN for every other name instead of REFUSED. @default true */
  nxdomainForOthers?: boolean;
  /** Port to listen on. @default 53 */
  port?: number;
  /** Appended as given. */
  extraArgs?: readonly string[];
}

const NAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function asList(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

function checkName(name: string, what: string): string {
  if (!NAME.test(name)) throw new RangeError(`${what} '${name}' is not a valid DNS name`);
  return name.replace(/\.$/, '').toLowerCase();
}

function checkTtl(ttl: number | undefined, what: string): void {
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 0 && ttl <= 0x7fffffff)) {
    throw new RangeError(`TTL of ${what} must be an integer number of seconds, got ${ttl}`);
  }
}

/**
 * The dnsmasq arguments serving exactly these records and nothing else: no
 * config file, no /etc/hosts, no upstream servers, no pid file, in the
 * foreground, bound to the listen addresses only (so several instances in
 * several namespaces never clash), logging every query.
 */
export function dnsmasqArgs(config: DnsmasqConfig): string[] {
  const { ttl = 60, nxdomainForOthers = true, port = 53 } = config;
  checkTtl(ttl, 'the server');
  if (config.listen.length === 0) throw new RangeError('dnsmasq needs at least one listen address');
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--bind-interfaces',
    `--port=${port}`,
    '--pid-file=',
    // Stay root: the log file and sockets need no unprivileged user.
    '--user=root',
    '--group=root',
    `--log-facility=${config.logFile}`,
    '--log-queries=extra',
    `--local-ttl=${ttl}`,
  ];
  for (const address of config.listen) {
    if (!isIPv4(address) && !isIPv6(address)) throw new RangeError(`listen address '${address}' is not an IP address`);
    args.push(`--listen-address=${address}`);
  }

  const defined = new Set<string>();
  for (const host of config.hosts ?? []) {
    const name = checkName(host.name, 'host name');
    checkTtl(host.ttl, name);
    const ipv4 = asList(host.ipv4);
    const ipv6 = asList(host.ipv6);
    if (ipv4.length + ipv6.length === 0) throw new RangeError(`host '${name}' has no address`);
    for (const address of ipv4) {
      if (!isIPv4(address)) throw new RangeError(`A record of '${name}': '${address}' is not an IPv4 address`);
    }
    for (const address of ipv6) {
      if (!isIPv6(address)) throw new RangeError(`AAAA record of '${name}': '${address}' is not an IPv6 address`);
    }
    // One --host-record takes at most one address of each family; several
    // records for the same name add up to several answers.
    for (let i = 0; i < Math.max(ipv4.length, ipv6.length); i++) {
      const fields = [name, ipv4[i], ipv6[i], host.ttl?.toString()].filter((field) => field !== undefined);
      args.push(`--host-record=${fields.join(',')}`);
    }
    defined.add(name);
  }

  const cnames = (config.cnames ?? []).map((cname) => ({
    ...cname,
    alias: checkName(cname.alias, 'CNAME alias'),
    target: checkName(cname.target, 'CNAME target'),
  }));
  for (const cname of cnames) {
    if (defined.has(cname.alias)) throw new RangeError(`'${cname.alias}' cannot be both a CNAME and have other records`);
    defined.add(cname.alias);
  }
  for (const cname of cnames) {
    checkTtl(cname.ttl, cname.alias);
    // dnsmasq only serves CNAMEs whose target is its own local data.
    if (!defined.has(cname.target)) {
      throw new RangeError(`CNAME '${cname.alias}' points to '${cname.target}', which is neither a host nor a CNAME here`);
    }
    const fields = [cname.alias, cname.target, cname.ttl?.toString()].filter((field) => field !== undefined);
    args.push(`--cname=${fields.join(',')}`);
  }

  if (nxdomainForOthers) args.push('--address=/#/');
  args.push(...(config.extraArgs ?? []));
  return args;
}

/** One query from dnsmasq's log. */
export interface DnsQuery {
  /** Query type as logged: 'A', 'AAAA', 'PTR', 'type=65'… */
  type: string;
  name: string;
  /** Address of the client that asked. */
  from: string;
}

/** The queries in a dnsmasq log written with --log-queries(=extra). */
export function parseDnsmasqLog(log: string): DnsQuery[] {
  const queries: DnsQuery[] = [];
  for (const line of log.split('\n')) {
    const match = / query\[([^\]]+)\] (\S+) from (\S+)$/.exec(line);
    if (match) queries.push({ type: match[1] ?? '', name: match[2] ?? '', from: match[3] ?? '' });
  }
  return queries;
}
