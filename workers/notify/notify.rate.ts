/**
 * How many deliveries a channel is given a minute (docs/observability.md#notification-channels).
 *
 * Callers reach new alerts (an `alert` rule over a glob opens one per distinct tool name) and new
 * approvals (one per distinct held call): without a bound, one caller could post thousands of
 * messages into an organization's Slack. So a channel takes at most NOTIFY_PER_CHANNEL_PER_MINUTE
 * deliveries in any minute — but one bucket for every severity would let a flood of medium alerts
 * (approvals are medium) hold back a critical one (a kill switch, critical drift) for that minute.
 * So the last NOTIFY_URGENT_RESERVED_PER_MINUTE of them are reserved for `high` and `critical`:
 * the other severities stop at NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE, urgent ones may use the
 * whole minute. The total stays 30 a minute whatever the mix, and a critical flood is capped too.
 *
 * The check and the insert are one statement per channel (INSERT … SELECT … WHERE the counts are
 * under the caps), in one D1 batch, and D1 runs one statement at a time: two route messages handled
 * at once cannot overshoot.
 */
import { DELIVERY_STATUSES } from '../db/schema';
import type { NotifyEvent } from '../shared/notify.message';

export const NOTIFY_PER_CHANNEL_PER_MINUTE = 30;
/** Of the minute's deliveries, the ones only `high` and `critical` events may take. */
export const NOTIFY_URGENT_RESERVED_PER_MINUTE = 10;
/** What `medium`, `low` and `info` events may take of a channel's minute. */
export const NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE =
  NOTIFY_PER_CHANNEL_PER_MINUTE - NOTIFY_URGENT_RESERVED_PER_MINUTE;

const URGENT_SEVERITIES = ['critical', 'high'] as const;

export function isUrgent(event: Pick<NotifyEvent, 'severity'>): boolean {
  return (URGENT_SEVERITIES as readonly string[]).includes(event.severity);
}

// Every status named, so the (org_id, status, created_at) index reads only the last minute.
const RECENT = `SELECT 1 FROM notify_deliveries WHERE org_id = ?2 AND status IN (${DELIVERY_STATUSES.map(
  (s) => `'${s}'`,
).join(', ')}) AND created_at > ?9 AND channel_id = ?3`;

/**
 * The delivery row of `event` for one channel, written only when the channel's minute has room for
 * it: under the total, and for a routine event also under the routine share. `INSERT OR IGNORE`:
 * a route message handled twice makes one row (the id is deterministic).
 */
export function deliveryInsert(
  db: D1Database,
  row: { id: string; orgId: string; channelId: string; event: NotifyEvent; now: number },
): D1PreparedStatement {
  const routine = isUrgent(row.event)
    ? ''
    : `AND (SELECT COUNT(*) FROM (${RECENT} AND json_extract(payload, '$.severity') NOT IN ('critical', 'high')
         LIMIT ?11)) < ?11`;
  return db
    .prepare(
      `INSERT OR IGNORE INTO notify_deliveries (id, org_id, channel_id, event_type, alert_id, payload, status,
         attempts, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?8
       WHERE (SELECT COUNT(*) FROM (${RECENT} LIMIT ?10)) < ?10 ${routine}`,
    )
    .bind(
      row.id,
      row.orgId,
      row.channelId,
      row.event.type,
      row.event.alertId,
      JSON.stringify(row.event),
      row.now,
      row.now,
      row.now - 60_000,
      NOTIFY_PER_CHANNEL_PER_MINUTE,
      // ?11 exists only in a routine event's statement.
      ...(routine ? [NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE] : []),
    );
}
