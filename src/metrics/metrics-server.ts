/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics answers the
 * exposition, anything else a short 404 or 405. It binds before anything is
 * traced, so a busy port or a foreign address is one line and exit 1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HostflowError, firstLine } from '../errors.js';
import { type MetricsAddress } from './metrics-address.js';

/** The exposition format's content type (text format 0.0.4). */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** A scraper that does not send its request within this is cut off: a stuck client holds nothing for long. */
const HEADERS_TIMEOUT_MS = 10_000;

export class MetricsServer {
  private constructor(
    private readonly server: Server,
    /** Where it listens (the kernel's port when 0 was asked). */
    readonly address: MetricsAddress,
  ) {}

  /** Listens at `address`; throws a one-line HostflowError when it cannot. */
  static async listen(address: MetricsAddress, scrape: () => Promise<string>): Promise<MetricsServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('hostflow serves its metrics at /metrics\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET /metrics\n');
        return;
      }
      scrape().then(
        (text) => response.writeHead(200, { 'content-type': CONTENT_TYPE }).end(request.method === 'HEAD' ? undefined : text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${firstLine(error)}\n`),
      );
    });
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = HEADERS_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(listenError(address, error)));
      server.listen({ host: address.host, port: address.port }, resolve);
    });
    const bound = server.address() as AddressInfo;
    return new MetricsServer(server, { host: address.host, port: bound.port });
  }

  /** Stops listening and ends the connections scrapers keep open. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

function listenError({ host, port }: MetricsAddress, error: unknown): HostflowError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `--metrics ${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    code === 'EADDRINUSE'
      ? `port ${port} is in use on ${host} (another hostflow or exporter?): choose another port`
      : code === 'EADDRNOTAVAIL'
        ? `${host} is not an address of this host`
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? `${host} does not resolve`
          : code === 'EACCES'
            ? `no permission to listen on port ${port}`
            : `cannot listen: ${firstLine(error)}`;
  return new HostflowError(`${where}: ${why}`, { cause: error });
}
