/**
 * A live event as it goes on the wire: encoded ONCE by the root hub (`id:`, `event:`, `data:`) and
 * passed as bytes to its own streams and to its shards (event.shards.ts, event.streams.ts).
 */
import type { GatewayEvent } from '../workers/shared/events.types';

export interface Frame {
  seq: number;
  /** The connection the event belongs to (what a stream limited to connections filters by). */
  connection: string | null;
  bytes: Uint8Array;
}

const encoder = new TextEncoder();

export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The SSE frame of an event, from its JSON body as stored. */
export function frameOf(seq: number, type: GatewayEvent['type'], body: string): Uint8Array {
  return encoder.encode(`id: ${seq}\nevent: ${type}\ndata: ${body}\n\n`);
}
