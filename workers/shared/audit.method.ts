/**
 * What an audit row keeps of a method: its first AUDIT_METHOD_CHARS characters, for every protocol.
 * A method the gateway forwards is short; an unknown one is refused (method_not_found) and may be
 * as long as the body allows — the row names it, it does not store a megabyte of it.
 */
export const AUDIT_METHOD_CHARS = 100;

export function auditMethod(method: string): string;
export function auditMethod(method: string | undefined): string | null;
export function auditMethod(method: string | undefined): string | null {
  return method === undefined ? null : method.slice(0, AUDIT_METHOD_CHARS);
}
