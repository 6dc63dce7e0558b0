/**
 * Plugging an McpConfig into the official MCP SDK's Streamable HTTP transport.
 *
 * The SDK has no dependency on @modelcontextprotocol/sdk: `mcpTransport` takes the transport
 * class as an argument (works with SDK v1 `@modelcontextprotocol/sdk` and v2
 * `@modelcontextprotocol/client`, whose constructors are both `(url, { requestInit, … })`), and
 * `loadStreamableHttpTransport` imports the v1 class at run time for Igris#transport.
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { IgrisConfigError } from './igris.errors.js';

/** What getMcpConfig / connectHttp return (seed 001). */
export interface McpConfig {
  /** The connection's gateway URL: `<base>/v1/mcp/<slug>`. */
  baseUrl: string;
  /** The Igris API key, sent as `Authorization: Bearer <apiKey>` to the gateway. */
  apiKey: string;
  /** X-Igris-Trace-Id (always), X-Igris-User and X-Igris-Metadata (when given). */
  headers: Record<string, string>;
}

/** Every header a request to the gateway needs: Authorization plus the identity headers. */
export function gatewayHeaders(config: McpConfig): Record<string, string> {
  return { Authorization: `Bearer ${config.apiKey}`, ...config.headers };
}

/** The options both SDK generations' StreamableHTTPClientTransport accept, as far as we touch them. */
export interface TransportOptionsLike {
  requestInit?: RequestInit;
}

export type TransportClass<T, O extends TransportOptionsLike> = new (url: URL, options?: O) => T;

/**
 * `new Transport(new URL(config.baseUrl), { ...options, requestInit: { headers: gateway headers } })`.
 * Headers already in `options.requestInit.headers` are kept; Authorization and the X-Igris
 * headers from `config` take precedence over them.
 */
export function mcpTransport<T, O extends TransportOptionsLike>(
  Transport: TransportClass<T, O>,
  config: McpConfig,
  options?: O,
): T {
  const ours = gatewayHeaders(config);
  const taken = new Set(Object.keys(ours).map((name) => name.toLowerCase()));
  const headers: Record<string, string> = {};
  new Headers(options?.requestInit?.headers).forEach((value, name) => {
    if (!taken.has(name)) headers[name] = value;
  });
  Object.assign(headers, ours);
  return new Transport(new URL(config.baseUrl), {
    ...options,
    requestInit: { ...options?.requestInit, headers },
  } as O);
}

// A variable, not a literal: bundlers must not try to resolve (and fail on) an optional peer
// that an application may not have installed. In bundled code pass the class to mcpTransport.
const TRANSPORT_MODULE = '@modelcontextprotocol/sdk/client/streamableHttp.js';

export async function loadStreamableHttpTransport(): Promise<typeof StreamableHTTPClientTransport> {
  let loaded: { StreamableHTTPClientTransport?: typeof StreamableHTTPClientTransport };
  try {
    loaded = await import(/* @vite-ignore */ TRANSPORT_MODULE);
  } catch (cause) {
    const error = new IgrisConfigError(
      'transport',
      'igris.transport() needs @modelcontextprotocol/sdk (npm install @modelcontextprotocol/sdk); ' +
        'or pass the class yourself: mcpTransport(StreamableHTTPClientTransport, config)',
    );
    (error as { cause?: unknown }).cause = cause;
    throw error;
  }
  if (typeof loaded.StreamableHTTPClientTransport !== 'function') {
    throw new IgrisConfigError(
      'transport',
      `${TRANSPORT_MODULE} has no StreamableHTTPClientTransport export`,
    );
  }
  return loaded.StreamableHTTPClientTransport;
}
