/**
 * The root hub's numbering and replay buffer (event-hub.do.ts): what a stream resuming with
 * Last-Event-ID is given, kept so that publishing an event costs almost nothing per event.
 *
 * In memory: the last REPLAY_LIMIT events, each held as its JSON body and encoded into its SSE frame
 * at most once, when a stream or a replay first needs the bytes (with no subscriber, never).
 *
 * In SQLite (what survives an eviction or a restart): the same events, written together — after
 * FLUSH_MS, or at the end of a publish once FLUSH_AT are waiting — instead of one INSERT (and one
 * commit, which holds the object's output until it is on disk) per event. Measured in the workerd
 * tests' runtime: a one-event publish took ~7 ms with its INSERT and ~2 ms (the RPC alone) without.
 *
 * Ids only ever grow, even across a crash that loses the events not yet written: before an id
 * beyond `reserved` is handed out, a new `reserved` (FLUSH_AT ahead) is written — one small write
 * per flush window, not per event — and a flush sets it back to the last id written. A restart
 * resumes after max(stored ids, reserved). After a crash the ids between the last stored one and
 * `reserved` may have been handed out and lost: a client resuming before them is told so with a
 * `gap` (the audit trail has those calls), never given one of those ids again.
 *
 * Replay by time (`replayFrom`, a stream opened with `since`): every held event whose own
 * `timestamp` is at or after the time, in id order. Timestamps are not in id order (a call's event
 * carries its admit time and is published once its outcome is known), so this is a filter over
 * everything held, not a suffix. Whether the buffer still reaches back that far is `#horizon`: the
 * newest timestamp of any event it no longer holds (trimmed past REPLAY_LIMIT, or — after a crash —
 * possibly lost, when the restart time stands in for the lost events' unknown timestamps). A `since`
 * at or before the horizon gets a `gap`: something at or after it may be missing.
 */
import type { GatewayEvent } from '../workers/shared/events.types';
import { type Frame, frameOf } from './event.frame';

export const REPLAY_LIMIT = 1000;
/** Events wait at most this long in memory before they are written to SQLite together. */
export const FLUSH_MS = 1000;
/** ...or this many: a publish that leaves this many waiting writes them before it returns. */
export const FLUSH_AT = 100;

/**
 * What a stream may have missed and cannot be given: ids `missedFrom`..`missedTo` (resuming after an
 * id), or — replaying by time — events at or after `since` among the ids up to `missedTo`.
 */
export type ReplayGap = { missedFrom: number; missedTo: number } | { since: string; missedTo: number };

/** What a stream resuming after an id, or replaying since a time, is given (a shard asks its root for it). */
export interface ReplayRows {
  gap: ReplayGap | null;
  /** Frames after the id (and after the gap), ids ascending. */
  frames: Frame[];
  /** The root's last id when it answered: everything up to it is in `frames` or was not missed. */
  last: number;
}

/** One event as the root holds it; `bytes` is encoded on first use. */
export interface HubEntry {
  seq: number;
  connection: string | null;
  /** The event's own `timestamp` in ms (what a replay by time filters on). */
  at: number;
  type: GatewayEvent['type'];
  body: string;
  bytes: Uint8Array | null;
}

/** The entry's SSE frame (encoded once, then shared by every stream, shard and replay). */
export function frameOfEntry(entry: HubEntry): Frame {
  entry.bytes ??= frameOf(entry.seq, entry.type, entry.body);
  return { seq: entry.seq, connection: entry.connection, bytes: entry.bytes };
}

/** A stored event's SSE frame; its type is read from the body (`event`, when the caller parsed it already). */
function frameOfRow(
  row: { seq: number; connection: string | null; body: string },
  event = JSON.parse(row.body) as GatewayEvent,
): Frame {
  return { seq: row.seq, connection: row.connection, bytes: frameOf(row.seq, event.type, row.body) };
}

export class ReplayBuffer {
  /** The last REPLAY_LIMIT entries since this object started, from `#head` on. */
  #ring: HubEntry[] = [];
  #head = 0;
  /** Entries not yet written to SQLite. */
  #pending: HubEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #seq: number;
  /** Every id handed out is ≤ this, in SQLite. */
  #reserved: number;
  /** After a crash: ids up to this may have been handed out and not stored (0: none). */
  readonly #lostTo: number;
  /** The newest timestamp (ms) of an event no longer held; 0: every event ever published is held. */
  #horizon: number;
  #horizonStored: number;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      'CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, connection TEXT, body TEXT NOT NULL, at INTEGER)',
    );
    // Hubs created before replay by time: their rows have no `at` (null; a trim counts them as unknown).
    const columns = sql.exec<{ name: string }>('PRAGMA table_info(events)').toArray();
    if (!columns.some((c) => c.name === 'at')) sql.exec('ALTER TABLE events ADD COLUMN at INTEGER');
    sql.exec('CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    const stored = sql.exec<{ s: number | null }>('SELECT max(seq) AS s FROM events').one().s ?? 0;
    this.#reserved = this.#meta('reserved');
    this.#seq = Math.max(stored, this.#reserved);
    this.#lostTo = this.#reserved > stored ? this.#reserved : 0;
    this.#horizonStored = this.#meta('horizon');
    // Events lost in a crash had timestamps no later than now (they were published before it).
    this.#horizon = this.#lostTo > 0 ? Math.max(this.#horizonStored, Date.now()) : this.#horizonStored;
  }

  /** The last id handed out (0 when nothing was ever published). */
  get last(): number {
    return this.#seq;
  }

  /** Numbers an event and keeps it (memory now, SQLite soon). `body` is the event's JSON. */
  append(event: GatewayEvent, connection: string | null, body: string): HubEntry {
    const seq = ++this.#seq;
    if (seq > this.#reserved) this.#reserve(seq + FLUSH_AT - 1);
    const at = Date.parse(event.timestamp);
    // (An event without a readable timestamp is filed at its publish time.)
    const entry: HubEntry = {
      seq,
      connection,
      at: Number.isFinite(at) ? at : Date.now(),
      type: event.type,
      body,
      bytes: null,
    };
    this.#ring.push(entry);
    if (this.#ring.length - this.#head > REPLAY_LIMIT) this.#head++;
    if (this.#head >= REPLAY_LIMIT) {
      this.#ring = this.#ring.slice(this.#head);
      this.#head = 0;
    }
    this.#pending.push(entry);
    return entry;
  }

  /** Called once a publish has appended its events: writes now if enough wait, else schedules it. */
  settle(): void {
    if (this.#pending.length >= FLUSH_AT) this.flush();
    else if (this.#pending.length > 0 && this.#timer === null) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
    }
  }

  /** Writes what waits (one commit), trims SQLite to the last REPLAY_LIMIT ids, and marks them clean. */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const rows = this.#pending;
    this.#pending = [];
    for (const e of rows) {
      this.sql.exec(
        'INSERT INTO events (seq, connection, body, at) VALUES (?, ?, ?, ?)',
        e.seq,
        e.connection,
        e.body,
        e.at,
      );
    }
    // What leaves the buffer moves the horizon of replay by time (a row without `at`: its time is
    // unknown, and no later than now).
    const trimmed = this.sql.exec<{ at: number | null }>(
      'DELETE FROM events WHERE seq <= ? RETURNING at',
      this.#seq - REPLAY_LIMIT,
    );
    for (const row of trimmed) this.#horizon = Math.max(this.#horizon, row.at ?? Date.now());
    if (this.#horizon !== this.#horizonStored) {
      this.#setMeta('horizon', this.#horizon);
      this.#horizonStored = this.#horizon;
    }
    this.#reserve(this.#seq);
  }

  /** What a stream resuming after `after` missed: a gap (if any), then frames in id order. */
  replay(after: number): ReplayRows {
    const last = this.#seq;
    let from = after + 1;
    let missedTo = 0;
    if (after < this.#lostTo) {
      missedTo = this.#lostTo;
      from = this.#lostTo + 1;
    }
    const held = this.#heldFrom();
    const frames: Frame[] = [];
    if (from < held) {
      // Older than what this object holds in memory (it restarted since): what SQLite still has.
      const rows = this.sql
        .exec<{ seq: number; connection: string | null; body: string }>(
          'SELECT seq, connection, body FROM events WHERE seq >= ? AND seq < ? ORDER BY seq',
          from,
          held,
        )
        .toArray();
      const oldest = rows[0]?.seq ?? held;
      if (oldest > from) missedTo = Math.max(missedTo, oldest - 1);
      for (const row of rows) frames.push(frameOfRow(row));
    }
    for (let i = this.#head; i < this.#ring.length; i++) {
      const entry = this.#ring[i]!;
      if (entry.seq >= from) frames.push(frameOfEntry(entry));
    }
    return { gap: missedTo > after ? { missedFrom: after + 1, missedTo } : null, frames, last };
  }

  /**
   * Every held event whose own timestamp is ≥ `since` (ms), in id order, and a gap when the buffer
   * may no longer hold all of them (see the horizon above).
   */
  replayFrom(since: number): ReplayRows {
    const last = this.#seq;
    const held = this.#heldFrom();
    const frames: Frame[] = [];
    let oldest = held;
    if (held > 1) {
      // Older than memory (a restart, or trimmed from memory and not yet from SQLite): SQLite's rows.
      const rows = this.sql
        .exec<{ seq: number; connection: string | null; body: string; at: number | null }>(
          'SELECT seq, connection, body, at FROM events WHERE seq < ? AND (at IS NULL OR at >= ?) ORDER BY seq',
          held,
          since,
        )
        .toArray();
      oldest = this.sql.exec<{ s: number | null }>('SELECT min(seq) AS s FROM events').one().s ?? held;
      for (const row of rows) {
        const event = JSON.parse(row.body) as GatewayEvent;
        if ((row.at ?? Date.parse(event.timestamp)) < since) continue;
        frames.push(frameOfRow(row, event));
      }
    }
    for (let i = this.#head; i < this.#ring.length; i++) {
      const entry = this.#ring[i]!;
      if (entry.at >= since) frames.push(frameOfEntry(entry));
    }
    const gap =
      this.#horizon !== 0 && this.#horizon >= since
        ? {
            since: new Date(since).toISOString(),
            missedTo: Math.max(this.#lostTo, Math.min(oldest, held) - 1),
          }
        : null;
    return { gap, frames, last };
  }

  /** The id of the oldest event held in memory (the last id + 1 when none is). */
  #heldFrom(): number {
    return this.#ring.length > this.#head ? this.#ring[this.#head]!.seq : this.#seq + 1;
  }

  #reserve(upTo: number): void {
    this.#reserved = upTo;
    this.#setMeta('reserved', upTo);
  }

  #meta(key: 'reserved' | 'horizon'): number {
    return (
      this.sql.exec<{ value: number }>('SELECT value FROM hub_meta WHERE key = ?', key).toArray()[0]?.value ??
      0
    );
  }

  #setMeta(key: 'reserved' | 'horizon', value: number): void {
    this.sql.exec(
      'INSERT INTO hub_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      key,
      value,
    );
  }
}
