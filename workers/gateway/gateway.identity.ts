/**
 * Seed 002's identity headers. All of them are advisory — the API key is the trust anchor — and
 * none of them can make a request fail: invalid values are treated as absent and the audit row
 * says what was ignored and why.
 */
import { parseMetadata, parseTraceId, parseUser } from '../identity/identity.metadata';

export const USER_HEADER = 'X-Igris-User';
export const TRACE_HEADER = 'X-Igris-Trace-Id';
export const METADATA_HEADER = 'X-Igris-Metadata';

export interface CallIdentity {
  user: string | null;
  traceId: string;
  traceGenerated: boolean;
  metadata: Record<string, unknown> | null;
  /** Why metadata (or user/trace id) was ignored; null when everything was accepted. */
  metadataError: string | null;
  /** The call's team ids and names, for `team` policy conditions (set by the call core). */
  teams?: readonly string[];
}

export function readIdentity(headers: Headers): CallIdentity {
  const user = parseUser(headers.get(USER_HEADER));
  const trace = parseTraceId(headers.get(TRACE_HEADER));
  const metadata = parseMetadata(headers.get(METADATA_HEADER));
  const problems = [
    metadata.ignoredReason,
    user.ignoredReason && `X-Igris-User ignored: ${user.ignoredReason}`,
    trace.ignoredReason && `X-Igris-Trace-Id ignored: ${trace.ignoredReason}`,
  ].filter((p): p is string => Boolean(p));
  return {
    user: user.user,
    traceId: trace.traceId,
    traceGenerated: trace.generated,
    metadata: metadata.metadata,
    metadataError: problems.length > 0 ? problems.join('; ') : null,
  };
}
