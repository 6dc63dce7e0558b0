/**
 * The `Mcp-Session-Id` request header, as the call core may keep it. The value goes into audit
 * rows, the guard's session state and session-taint keys, so it is held to the MCP spec's shape
 * (Streamable HTTP: a session id "MUST only contain visible ASCII characters (0x21 to 0x7E)") and
 * to a length real servers never approach (UUIDs, JWT-like tokens): a caller cannot make every one
 * of those stores carry a header of tens of kilobytes.
 */
import { AppError } from '../lib/errors';

export const MCP_SESSION_HEADER = 'Mcp-Session-Id';
/** Longer than any session id a server issues (a UUID is 36, a signed token a few hundred at most). */
export const MAX_MCP_SESSION_ID_CHARS = 256;

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** What the header says: a well-formed id, nothing (absent or empty), or a value to refuse. */
export type McpSessionHeader = { id: string | null; valid: true } | { id: null; valid: false };

export function readMcpSessionId(headers: Headers): McpSessionHeader {
  const value = headers.get(MCP_SESSION_HEADER);
  // Empty is absent, as it always was (the fetch Headers have already trimmed the value).
  if (value === null || value === '') return { id: null, valid: true };
  // Length first: the pattern never runs over an over-long value.
  if (value.length > MAX_MCP_SESSION_ID_CHARS || !VISIBLE_ASCII.test(value))
    return { id: null, valid: false };
  return { id: value, valid: true };
}

/** The refusal of a malformed header: what is wrong, never the value itself. */
export function invalidMcpSessionId(): AppError {
  return new AppError('bad_request', {
    message: `Invalid ${MCP_SESSION_HEADER} header: at most ${MAX_MCP_SESSION_ID_CHARS} visible ASCII characters (0x21-0x7E)`,
    details: { location: 'header', path: MCP_SESSION_HEADER },
  });
}
