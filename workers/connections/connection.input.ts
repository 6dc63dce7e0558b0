/**
 * What a connection's create or update body must satisfy beyond its schema: an outbound URL the
 * SSRF rules allow, a coherent auth type / header or parameter name / credential combination, and
 * a credential that does not silently follow the connection to another origin. Each refusal is a
 * 400 `validation_failed` naming the field (403 for a non-owner's `keepCredential`).
 */
import type { Principal } from '../app.types';
import type { ConnectionRow } from '../db/schema';
import { AppError } from '../lib/errors';
import { checkOutboundUrl } from './connection.rules';
import { sameOrigin } from './connection.secrets';
import type { ConnectionDbRow, ConnectionEnv } from './connections.read';
import type { UpdateConnectionInput } from './connections.schemas';

export function fieldError(path: string, message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError('validation_failed', {
    details: { issues: [{ location: 'body', path, message, ...extra }] },
  });
}

export function checkUrl(env: ConnectionEnv, url: string): void {
  const result = checkOutboundUrl(env, url);
  if (!result.ok) throw fieldError('upstreamUrl', result.message, { rule: result.rule });
}

function urlHasParam(url: string, name: string): boolean {
  try {
    return new URL(url).searchParams.has(name);
  } catch {
    return false;
  }
}

interface AuthChoice {
  authType: ConnectionRow['authType'];
  authHeaderName: string | null | undefined;
  authQueryParam: string | null | undefined;
  hasCredential: boolean;
  upstreamUrl: string;
}

/** The auth type / header or parameter name / credential combination rules. */
export function checkAuth({
  authType,
  authHeaderName,
  authQueryParam,
  hasCredential,
  upstreamUrl,
}: AuthChoice) {
  if (authType === 'header' && !authHeaderName) {
    throw fieldError('authHeaderName', 'authType "header" requires authHeaderName');
  }
  if (authType !== 'header' && authHeaderName) {
    throw fieldError('authHeaderName', `authHeaderName is only used with authType "header"`);
  }
  if (authType === 'query' && !authQueryParam) {
    throw fieldError('authQueryParam', 'authType "query" requires authQueryParam');
  }
  if (authType !== 'query' && authQueryParam) {
    throw fieldError('authQueryParam', 'authQueryParam is only used with authType "query"');
  }
  if (authType === 'query' && authQueryParam && urlHasParam(upstreamUrl, authQueryParam)) {
    // The gateway sets the parameter; one already in the URL would be silently replaced.
    throw fieldError('authQueryParam', `upstreamUrl already has a query parameter named "${authQueryParam}"`);
  }
  if (authType !== 'none' && !hasCredential) {
    throw fieldError('credential', `authType "${authType}" requires a credential`);
  }
  if (authType === 'none' && hasCredential) {
    throw fieldError('credential', 'authType "none" does not take a credential');
  }
}

/**
 * Moving a connection to another origin (scheme, host or port) would send its stored credential
 * to a host it was never meant for, so the same request must carry the credential for the new
 * host, or an owner must say `keepCredential: true` (for a host known to take the same secret).
 * Returns whether the origin changes. Same-origin path changes need neither.
 */
export function checkRepoint(
  principal: Principal,
  row: ConnectionDbRow,
  input: UpdateConnectionInput,
  keepsCredential: boolean,
): boolean {
  if (input.keepCredential !== undefined && input.credential !== undefined) {
    throw fieldError('keepCredential', 'send either a new credential or keepCredential, not both');
  }
  const repointed = input.upstreamUrl !== undefined && !sameOrigin(row.upstream_url, input.upstreamUrl);
  if (!repointed || !keepsCredential || input.credential !== undefined) return repointed;
  if (input.keepCredential !== true) {
    throw fieldError(
      'credential',
      'upstreamUrl moves to another origin: send the credential for the new host in the same request (or, as an owner, keepCredential: true to send the stored one there)',
      { rule: 'credential_required_for_new_origin' },
    );
  }
  if (principal.role !== 'owner') {
    throw new AppError('forbidden', {
      message: `Only an owner may keep the stored credential when upstreamUrl moves to another origin (role ${principal.role})`,
      details: { location: 'body', path: 'keepCredential', role: principal.role },
    });
  }
  return repointed;
}
