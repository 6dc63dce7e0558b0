/**
 * What an audit row keeps of a method: its first AUDIT_METHOD_CHARS characters, for every protocol.
 * A method the gateway forwards is short; an unknown one is refused (method_not_found) and may be
 * as long as the body allows — the row names it, it does not store a megabyte of it.
 *
 * A method is the caller's text too, and the row is read by every auditor of the organization and
 * sent as a live event: one that looks like a credential is kept as `[redacted]` (lib/echo.safe.ts
 * auditName). A real method name (`tools/call`, `message/send`) never looks like one, so security
 * teams read the names they decide on as sent — a misspelling with an invisible character included.
 */
import { auditName } from '../lib/echo.safe';

export const AUDIT_METHOD_CHARS = 100;

export function auditMethod(method: string): string;
export function auditMethod(method: string | undefined): string | null;
export function auditMethod(method: string | undefined): string | null {
  return method === undefined ? null : auditName(method).slice(0, AUDIT_METHOD_CHARS);
}
