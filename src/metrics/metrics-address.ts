/**
 * The address of the metrics endpoint, from `--metrics ADDR`: `HOST:PORT`,
 * `[IPV6]:PORT` or `:PORT`. Without a host it binds loopback only: serving
 * every interface is a choice the user spells (`0.0.0.0:9464`, `[::]:9464`).
 * Pure.
 */
import { isIP } from 'node:net';
import { HostflowError } from '../errors.js';

/** The host `:PORT` binds: loopback, so that only this machine reads the endpoint unless asked otherwise. */
export const METRICS_DEFAULT_HOST = '127.0.0.1';

export interface MetricsAddress {
  /** An IP literal (IPv6 without brackets) or a host name such as localhost. */
  host: string;
  /** 0 asks the kernel for a free port (the start line says which). */
  port: number;
}

/** Reads ADDR; throws a one-line HostflowError saying what a valid one looks like. */
export function parseMetricsAddress(text: string): MetricsAddress {
  const wrong = (why: string) => new HostflowError(`--metrics ${JSON.stringify(text)}: ${why} (expected HOST:PORT, [IPV6]:PORT or :PORT)`);
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) throw wrong('not an address with a port');
  const port = Number(match[3]);
  if (port > 65535) throw wrong('the port is above 65535');
  const bracketed = match[1];
  if (bracketed !== undefined) {
    if (isIP(bracketed) !== 6) throw wrong(`${bracketed} is not an IPv6 address`);
    return { host: bracketed, port };
  }
  const host = match[2] ?? '';
  if (host === '') return { host: METRICS_DEFAULT_HOST, port };
  if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host))
    throw wrong(`${host} is not an address or host name`);
  return { host, port };
}

/** The URL a scraper uses, IPv6 in brackets. */
export function metricsUrl({ host, port }: MetricsAddress): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}/metrics`;
}
