/**
 * The local HTTP servers the tests start (fake upstreams, receivers, identity providers): started on
 * an ephemeral port of 127.0.0.1, told by their URL, closed at the end. One way for all of them.
 *
 * Keep-alive: they keep idle kept-alive connections open until the client closes them
 * (`keepIdleConnections`, `keepAliveTimeout = 0`). With Node's default (5 s) a server closes an idle
 * socket while the client — workerd's connection pool, the gateway's fetch — may already be sending
 * its next request on it; that request fails as "Network connection lost" (through the gateway a 502
 * `upstream_unreachable`). Under load connections sit idle longer, and audit.durability.test's
 * 2500-call burst lost a few calls that way in some runs (with the timeout at 30 ms, 415 of them).
 * scripts/demo-mcp-server.ts sets the same on its own server.
 */
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export function keepIdleConnections<S extends Server>(server: S): S {
  server.keepAliveTimeout = 0;
  return server;
}

export interface Listening {
  /** `http://<host>:<port>` (`https://` for an HTTPS server), no path. */
  url: string;
  port: number;
  /** Drops every connection still open, then stops listening. */
  close(): Promise<void>;
}

/**
 * Starts `server` listening on `host` (127.0.0.1) and `port` (0: one the system picks). Keep-alive is
 * the caller's: `listen(keepIdleConnections(server))`.
 */
export async function listen(
  server: Server | HttpsServer,
  options: { host?: string; port?: number } = {},
): Promise<Listening> {
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  // Type-only imports here: workerd test files import modules that import this one.
  const scheme = 'setSecureContext' in server ? 'https' : 'http';
  return { url: `${scheme}://${host}:${port}`, port, close: () => closeServer(server) };
}

/** Drops every connection still open (a stream, an idle keep-alive), then stops listening. */
export async function closeServer(server: Server | HttpsServer): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
