/**
 * Ending live event streams when access ends: the API pushes a close to the organization's hub
 * right after a key is revoked, a session signed out, or a member demoted or removed
 * (workers/shared/events.subscriber.ts says who a stream belongs to).
 */
import { eventHubFor } from '../../durable-objects/do.client';
import { log } from '../lib/log';
import type { StreamMatch } from '../shared/events.subscriber';

/**
 * Pushes a close to the hubs of the given organizations for the streams that match. Called right
 * after the change is committed. Best-effort: if a hub cannot be reached, its periodic re-check
 * ends the stream within EVENTS_RECHECK_SECONDS (and fails closed when it cannot check).
 */
export async function closeStreamsFor(
  env: Pick<Env, 'EVENT_HUB'>,
  orgIds: Iterable<string | null | undefined>,
  match: StreamMatch,
): Promise<void> {
  const unique = [...new Set([...orgIds].filter((id): id is string => typeof id === 'string'))];
  await Promise.all(
    unique.map(async (orgId) => {
      // The change is already committed: a failed push must not fail it (the re-check backs it up).
      try {
        await eventHubFor(env, orgId).closeStreams(match);
      } catch (err) {
        log('warn', 'event stream close not pushed; the re-check will end it', { err });
      }
    }),
  );
}

/**
 * The organizations a user belongs to (where their sessions' streams can be). Called after a
 * committed change, so a failed read yields none (logged) rather than fail it: the re-check remains.
 */
export async function userOrgIds(db: D1Database, userId: string): Promise<string[]> {
  try {
    const { results } = await db
      .prepare('SELECT org_id FROM members WHERE user_id = ?')
      .bind(userId)
      .all<{ org_id: string }>();
    return results.map((r) => r.org_id);
  } catch (err) {
    log('warn', "user's organizations not read; stream closes left to the re-check", { err });
    return [];
  }
}
