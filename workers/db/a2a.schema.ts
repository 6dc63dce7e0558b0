/**
 * A2A agents (docs/a2a.md): agent cards and the tasks agents reported through the gateway.
 * Part of the D1 schema (workers/db/schema.ts re-exports every table).
 */
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { connections, organizations } from './core.schema';

// A2A agents (issue 21): the AgentCard of each `type: "a2a"` connection, as fetched from its URL
// (or pasted), one row per connection. The gateway serves it rewritten at
// /v1/a2a/<slug>/.well-known/agent-card.json; a refresh that changes it writes an admin audit row.
export const a2aAgentCards = sqliteTable(
  'a2a_agent_cards',
  {
    connectionId: text('connection_id')
      .primaryKey()
      .references(() => connections.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Where the card is fetched from on refresh; null for a pasted card. */
    cardUrl: text('card_url'),
    /** The agent's card as received (JSON), validated by a2a.card.ts. */
    card: text('card', { mode: 'json' }).notNull(),
    /** SHA-256 (hex) of the card's canonical JSON: a refresh that changes nothing writes nothing. */
    cardHash: text('card_hash').notNull(),
    fetchedAt: integer('fetched_at', { mode: 'number' }).notNull(),
    /**
     * Set by the scheduled refresh when the fetched card moves the endpoint to another origin (it
     * needs the new host's credential, which only an admin can give): the schedule skips the card
     * until an accepted card (an admin's refresh or paste) clears it (workers/a2a/a2a.refresh.ts).
     */
    refreshHeldAt: integer('refresh_held_at', { mode: 'number' }),
  },
  (t) => [index('a2a_agent_cards_org').on(t.orgId)],
);
export type A2aAgentCardRow = typeof a2aAgentCards.$inferSelect;

// A2A task tracking (issue 21, docs/a2a.md#tasks): the tasks agents reported through the gateway,
// one row per (connection, task id) with its latest state, and one event row per state change or
// message seen. Written off the hot path (waitUntil, workers/a2a/a2a.tasks.ts), never read by it.
export const A2A_TASK_EVENT_KINDS = ['request', 'state', 'message', 'artifact'] as const;

export const a2aTasks = sqliteTable(
  'a2a_tasks',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** The agent's task id (capped at 200 characters). */
    taskId: text('task_id').notNull(),
    contextId: text('context_id'),
    /** The latest state the agent reported: submitted, working, input-required, completed, failed, canceled… */
    state: text('state').notNull(),
    /** The skill the call that created the task named (metadata.skillId), when it named one. */
    skill: text('skill'),
    apiKeyId: text('api_key_id'),
    user: text('user'),
    /** Trace ids of the first and the latest call that reported on the task (audit rows by trace). */
    firstTraceId: text('first_trace_id'),
    lastTraceId: text('last_trace_id'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.taskId] }),
    index('a2a_tasks_org_updated').on(t.orgId, t.connectionId, t.updatedAt),
  ],
);
export type A2aTaskRow = typeof a2aTasks.$inferSelect;

export const a2aTaskEvents = sqliteTable(
  'a2a_task_events',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    taskId: text('task_id').notNull(),
    kind: text('kind', { enum: A2A_TASK_EVENT_KINDS }).notNull(),
    /** For `state`: the state reported. */
    state: text('state'),
    /** The call's trace id (its audit row is found by it) and JSON-RPC method. */
    traceId: text('trace_id'),
    method: text('method'),
    /**
     * JSON: the message's metadata (messageId, role, parts' kinds, media types and sizes, its
     * metadata object); the parts' content only when the connection's `logContent` is on.
     */
    detail: text('detail', { mode: 'json' }),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('a2a_task_events_task').on(t.connectionId, t.taskId, t.createdAt)],
);
export type A2aTaskEventRow = typeof a2aTaskEvents.$inferSelect;
