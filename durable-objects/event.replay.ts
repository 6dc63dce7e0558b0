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
 */
import type { GatewayEvent } from '../workers/shared/events.types';
import { type Frame, frameOf } from './event.frame';

export const REPLAY_LIMIT = 1000;
/** Events wait at most this long in memory before they are written to SQLite together. */
export const FLUSH_MS = 1000;
/** ...or this many: a publish that leaves this many waiting writes them before it returns. */
export const FLUSH_AT = 100;

/** What a stream resuming after an id is given (a shard asks its root for it). */
export interface ReplayRows {
  gap: { missedFrom: number; missedTo: number } | null;
  /** Frames after the id (and after the gap), ids ascending. */
  frames: Frame[];
  /** The root's last id when it answered: everything up to it is in `frames` or was not missed. */
  last: number;
}

/** One event as the root holds it; `bytes` is encoded on first use. */
export interface HubEntry {
  seq: number;
  connection: string | null;
  type: GatewayEvent['type'];
  body: string;
  bytes: Uint8Array | null;
}

/** The entry's SSE frame (encoded once, then shared by every stream, shard and replay). */
export function frameOfEntry(entry: HubEntry): Frame {
  entry.bytes ??= frameOf(entry.seq, entry.type, entry.body);
  return { seq: entry.seq, connection: entry.connection, bytes: entry.bytes };
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

  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      'CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, connection TEXT, body TEXT NOT NULL)',
    );
    sql.exec('CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    const stored = sql.exec<{ s: number | null }>('SELECT max(seq) AS s FROM events').one().s ?? 0;
    this.#reserved =
      sql.exec<{ value: number }>("SELECT value FROM hub_meta WHERE key = 'reserved'").toArray()[0]?.value ??
      0;
    this.#seq = Math.max(stored, this.#reserved);
    this.#lostTo = this.#reserved > stored ? this.#reserved : 0;
  }

  /** The last id handed out (0 when nothing was ever published). */
  get last(): number {
    return this.#seq;
  }

  /** Numbers an event and keeps it (memory now, SQLite soon). `body` is the event's JSON. */
  append(event: GatewayEvent, connection: string | null, body: string): HubEntry {
    const seq = ++this.#seq;
    if (seq > this.#reserved) this.#reserve(seq + FLUSH_AT - 1);
    const entry: HubEntry = { seq, connection, type: event.type, body, bytes: null };
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
        'INSERT INTO events (seq, connection, body) VALUES (?, ?, ?)',
        e.seq,
        e.connection,
        e.body,
      );
    }
    this.sql.exec('DELETE FROM events WHERE seq <= ?', this.#seq - REPLAY_LIMIT);
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
    const held = this.#ring.length > this.#head ? this.#ring[this.#head]!.seq : last + 1;
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
      for (const row of rows) {
        const type = (JSON.parse(row.body) as GatewayEvent).type;
        frames.push({ seq: row.seq, connection: row.connection, bytes: frameOf(row.seq, type, row.body) });
      }
    }
    for (let i = this.#head; i < this.#ring.length; i++) {
      const entry = this.#ring[i]!;
      if (entry.seq >= from) frames.push(frameOfEntry(entry));
    }
    return { gap: missedTo > after ? { missedFrom: after + 1, missedTo } : null, frames, last };
  }

  #reserve(upTo: number): void {
    this.#reserved = upTo;
    this.sql.exec(
      "INSERT INTO hub_meta (key, value) VALUES ('reserved', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      upTo,
    );
  }
}
