/**
 * Which kill switches hold for a call. Pure: the ConnectionGuard keeps the active switches of its
 * connection in memory (loaded from D1, then pushed by the API) and asks this module.
 *
 * Scopes and their targets:
 *   organization → the organization id          every call of every connection of the organization
 *   connection   → the connection id            every call of that connection
 *   session      → the agent session id         every call of that session (one per connection)
 *   apiKey       → the API key id               calls made with that key, on any connection
 *   user         → the X-Igris-User value       calls that name that user, on any connection
 */
export type KillScope = 'organization' | 'connection' | 'user' | 'apiKey' | 'session';

export interface KillRecord {
  id: string;
  scope: KillScope;
  target: string;
  reason: string | null;
  createdAt: number;
}

/** The guard a kill switch is checked in. */
export interface GuardIdentity {
  orgId: string;
  connectionId: string;
  sessionId: string;
}

export interface KillCaller {
  apiKeyId: string | null;
  user: string | null;
}

/**
 * When several hold, the broadest is reported: it is the one a responder would have to lift for
 * the call to pass, so naming a narrower one would mislead.
 */
const PRECEDENCE: readonly KillScope[] = ['organization', 'connection', 'session', 'apiKey', 'user'];

/** Whether a guard must keep this switch at all (user and apiKey switches may hit any connection). */
export function concernsGuard(kill: Pick<KillRecord, 'scope' | 'target'>, guard: GuardIdentity): boolean {
  switch (kill.scope) {
    case 'organization':
      return kill.target === guard.orgId;
    case 'connection':
      return kill.target === guard.connectionId;
    case 'session':
      return kill.target === guard.sessionId;
    case 'apiKey':
    case 'user':
      return true;
  }
}

/** Whether a switch refuses every call of the guard's session, whoever makes it. */
export function holdsWholeSession(kill: Pick<KillRecord, 'scope' | 'target'>, guard: GuardIdentity): boolean {
  return kill.scope !== 'apiKey' && kill.scope !== 'user' && concernsGuard(kill, guard);
}

export function killApplies(kill: KillRecord, guard: GuardIdentity, caller: KillCaller): boolean {
  if (!concernsGuard(kill, guard)) return false;
  if (kill.scope === 'apiKey') return caller.apiKeyId !== null && caller.apiKeyId === kill.target;
  if (kill.scope === 'user') return caller.user !== null && caller.user === kill.target;
  return true;
}

/** The switch that refuses this call, or null. */
export function matchingKill(
  kills: Iterable<KillRecord>,
  guard: GuardIdentity,
  caller: KillCaller,
): KillRecord | null {
  let best: KillRecord | null = null;
  for (const kill of kills) {
    if (!killApplies(kill, guard, caller)) continue;
    if (
      !best ||
      PRECEDENCE.indexOf(kill.scope) < PRECEDENCE.indexOf(best.scope) ||
      (kill.scope === best.scope && kill.createdAt < best.createdAt)
    ) {
      best = kill;
    }
  }
  return best;
}
