/**
 * Header/body agreement for MCP's mirrored request headers (2026-07-28 Streamable HTTP):
 * `Mcp-Method` mirrors `method`, `Mcp-Name` mirrors `params.name` / `params.uri` /
 * `params.taskId`, `MCP-Protocol-Version` mirrors `_meta["io.modelcontextprotocol/protocolVersion"]`.
 *
 * Why the gateway checks them itself: the policy decides on the body, but an upstream (or a load
 * balancer in front of it) may route or act on the headers. If the two disagreed the gateway
 * would decide on one message and forward another, so a disagreement is refused with 400 and
 * the spec's HeaderMismatch error before any decision is made.
 *
 * Rules (a superset of what the official SDK server enforces, see `validateStandardRequestHeaders`):
 * - Whenever `Mcp-Method` / `Mcp-Name` are present they must agree with the body, whatever the
 *   revision: a legacy request carrying them is held to the same rule (its upstream may still
 *   route on them). A batch cannot carry them at all.
 * - `Mcp-Name` values are decoded from the `=?base64?…?=` sentinel before comparing; an invalid
 *   sentinel is a mismatch. Every method whose body names something is checked — the spec's
 *   table (tools/call, prompts/get, resources/read, tasks/*) and also resources/subscribe and
 *   unsubscribe, tasks/result and completion/complete — for requests and notifications alike.
 *   For methods that name nothing the header is passed on unchecked.
 * - For a modern request (its `_meta` claims protocol ≥ 2026-07-28) the headers are required:
 *   `MCP-Protocol-Version` (equal to the claim), `Mcp-Method`, and `Mcp-Name` when the body has
 *   the mirrored value — the same presence rules as the spec, so an upstream that does not
 *   validate them gets the same guarantee as one that does.
 * - `Mcp-Param-*` headers are forwarded unchanged and not compared here: they mirror tool
 *   arguments named by the tool's input schema (`x-mcp-header`), which the gateway does not
 *   have, and no gateway decision depends on arguments. The upstream MUST compare them
 *   (HeaderMismatch); the spec also forbids trusting them for security decisions.
 */
import { AppError } from '../lib/errors.js';
import { isRecord } from '../lib/values.js';
import { type JsonRpcMessage, messageKind, type ParsedBody } from './gateway.jsonrpc.js';

export const FIRST_MODERN_PROTOCOL_VERSION = '2026-07-28';
export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion';

/** The body field `Mcp-Name` mirrors, per method (SEP-2243; the tasks rows from SEP-2663). */
const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri' | 'taskId'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/**
 * Other methods whose body names something: the spec does not require `Mcp-Name` on them, but an
 * upstream (or a balancer) may still route or act on one, so a present header must agree.
 */
const OTHER_NAME_SOURCE: Readonly<
  Record<string, (params: Record<string, unknown>) => readonly [field: string, value: unknown]>
> = {
  'resources/subscribe': (params) => ['uri', params.uri],
  'resources/unsubscribe': (params) => ['uri', params.uri],
  'tasks/result': (params) => ['taskId', params.taskId],
  'completion/complete': (params) => {
    const ref = isRecord(params.ref) ? params.ref : {};
    return ref.type === 'ref/resource' ? ['ref.uri', ref.uri] : ['ref.name', ref.name];
  },
};

interface MirroredName {
  field: string;
  /** The body's value, null when absent or not a string. */
  value: string | null;
  /** Whether a modern request must carry `Mcp-Name` for it (the spec's table). */
  required: boolean;
}

/** What `Mcp-Name` mirrors for this method, or null when the method names nothing. */
function mirroredName(method: string, params: unknown): MirroredName | null {
  const body = isRecord(params) ? params : {};
  if (Object.hasOwn(NAME_SOURCE, method)) {
    const field = NAME_SOURCE[method]!;
    const raw = body[field];
    return { field, value: typeof raw === 'string' ? raw : null, required: true };
  }
  if (Object.hasOwn(OTHER_NAME_SOURCE, method)) {
    const [field, raw] = OTHER_NAME_SOURCE[method]!(body);
    return { field, value: typeof raw === 'string' ? raw : null, required: false };
  }
  return null;
}

const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Values echoed in error details are cut here: they come from the caller and may be long. */
const SHOWN_CHARS = 200;

/** The `_meta` protocol-version claim of a message, when it has one that is a string. */
export function claimedVersion(message: JsonRpcMessage): string | null {
  const meta = isRecord(message.params) ? message.params._meta : undefined;
  const claim = isRecord(meta) ? meta[PROTOCOL_VERSION_META_KEY] : undefined;
  return typeof claim === 'string' ? claim : null;
}

/** 2026-07-28 and later: stateless, per-request `_meta`, mirrored headers required. */
export function isModernVersion(version: string | null): boolean {
  return version !== null && version >= FIRST_MODERN_PROTOCOL_VERSION;
}

/** Strips RFC 9110 optional whitespace (SP / HTAB) around a field value. */
function stripOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

function header(headers: Headers, name: string): string | null {
  const value = headers.get(name);
  return value === null ? null : stripOws(value);
}

/**
 * Decodes a mirrored header value: plain values as they are, `=?base64?<b64 of UTF-8>?=` to its
 * text. Null when the sentinel's payload is not canonical Base64 of valid UTF-8.
 */
export function decodeHeaderValue(value: string): string | null {
  if (!(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX))) return value;
  const b64 = value.slice(SENTINEL_PREFIX.length, value.length - SENTINEL_SUFFIX.length);
  if (!CANONICAL_BASE64.test(b64)) return null;
  try {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

function shown(value: string): string {
  return value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value;
}

function mismatch(name: string, headerValue: string | null, bodyValue: string | null, why: string): AppError {
  return new AppError('header_mismatch', {
    message: `Header mismatch: ${why}`,
    details: {
      location: 'header',
      path: name,
      header: headerValue === null ? null : shown(headerValue),
      body: bodyValue === null ? null : shown(bodyValue),
    },
  });
}

/** The first disagreement between the mirrored headers and the body, or null when they agree. */
export function checkHeaderAgreement(headers: Headers, parsed: ParsedBody): AppError | null {
  const method = header(headers, 'mcp-method');
  const name = header(headers, 'mcp-name');
  const version = header(headers, 'mcp-protocol-version');

  if (parsed.batch) {
    if (method !== null) {
      return mismatch(
        'Mcp-Method',
        method,
        null,
        'a JSON-RPC batch cannot carry Mcp-Method (it names one message)',
      );
    }
    if (name !== null) {
      return mismatch(
        'Mcp-Name',
        name,
        null,
        'a JSON-RPC batch cannot carry Mcp-Name (it names one message)',
      );
    }
    return null;
  }

  const message = parsed.messages[0]!;
  const kind = messageKind(message);
  const bodyMethod = message.method ?? null;
  if (method !== null && method !== bodyMethod) {
    return mismatch(
      'Mcp-Method',
      method,
      bodyMethod,
      bodyMethod === null
        ? `the Mcp-Method header names "${shown(method)}" but the body is a JSON-RPC response`
        : `the Mcp-Method header names "${shown(method)}" but the body's method is "${shown(bodyMethod)}"`,
    );
  }

  const claim = claimedVersion(message);
  if (claim !== null && version !== null && claim !== version) {
    return mismatch(
      'MCP-Protocol-Version',
      version,
      claim,
      `the MCP-Protocol-Version header names ${shown(version)} but the body's _meta claims ${shown(claim)}`,
    );
  }
  const modernRequest = kind === 'request' && isModernVersion(claim);
  if (modernRequest && version === null) {
    return mismatch(
      'MCP-Protocol-Version',
      null,
      claim,
      `the body's _meta claims protocol ${shown(claim!)} but the required MCP-Protocol-Version header is absent`,
    );
  }
  if (modernRequest && method === null) {
    return mismatch(
      'Mcp-Method',
      null,
      bodyMethod,
      `the body names method "${shown(bodyMethod!)}" but the required Mcp-Method header is absent`,
    );
  }

  // Requests and notifications alike: a notification of a governed method is decided (and
  // executed upstream) like a request, so its header must agree with its body too.
  const source = bodyMethod === null ? null : mirroredName(bodyMethod, message.params);
  if (source === null) return null;
  const { field, value: bodyValue } = source;
  if (name === null) {
    if (modernRequest && source.required && bodyValue !== null) {
      return mismatch(
        'Mcp-Name',
        null,
        bodyValue,
        `the body carries params.${field} "${shown(bodyValue)}" but the required Mcp-Name header is absent`,
      );
    }
    return null;
  }
  const decoded = decodeHeaderValue(name);
  if (decoded === null) {
    return mismatch('Mcp-Name', name, bodyValue, 'the Mcp-Name header carries an invalid =?base64?…?= value');
  }
  // A body without the field is refused later on its own terms (invalid params), as the SDK does.
  if (bodyValue !== null && decoded !== bodyValue) {
    return mismatch(
      'Mcp-Name',
      name,
      bodyValue,
      `the Mcp-Name header names "${shown(decoded)}" but the body's params.${field} is "${shown(bodyValue)}"`,
    );
  }
  return null;
}
