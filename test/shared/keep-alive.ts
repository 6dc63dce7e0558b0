/**
 * The local servers the tests run behind the gateway keep idle kept-alive connections open until the
 * client closes them (`keepAliveTimeout = 0`). With Node's default (5 s) a server closes an idle
 * socket while the client — workerd's connection pool, the gateway's fetch — may already be sending
 * its next request on it; that request fails as "Network connection lost" (through the gateway a 502
 * `upstream_unreachable`). Under load connections sit idle longer, and audit.durability.test's
 * 2500-call burst lost a few calls that way in some runs (with the timeout at 30 ms, 415 of them).
 * scripts/demo-mcp-server.ts sets the same on its own server.
 */
import type { Server } from 'node:http';

export function keepIdleConnections<S extends Server>(server: S): S {
  server.keepAliveTimeout = 0;
  return server;
}
