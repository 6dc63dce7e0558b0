/**
 * How a hub object hands a batch of frames — or a keepalive — to every stream it holds
 * (event.streams.ts): a slice of streams per turn, not all of them in one synchronous turn.
 *
 * Why: a hub with 1,000 streams written in one turn did all of its per-stream work before any client
 * heard of the event — measured locally (events bench, one thread), the first subscriber got it ~45 ms
 * after the publish, and a call whose event was being fanned out waited behind it. Sliced, the first
 * slice's bytes go on to their clients while the rest is written, and other work (the next publish, a
 * subscribe, locally a call's answer) gets its turn in between. The last subscriber hears of it when it
 * did before: the work is the same.
 *
 * Order: a batch that comes while a fan-out is under way waits for it to end, so every stream gets
 * batches in id order; the batches that waited go out together in the next fan-out. Streams that join
 * during a fan-out are visited by it (a Set's iterator sees them; their `lastSeq` already covers what
 * they must not get twice) and streams that leave are skipped.
 */
import { nativeWait } from '../workers/lib/native.wait';
import type { Frame } from './event.frame';

/** Streams a fan-out writes per turn; after each slice it yields (a native wait of 0 ms). */
export const FANOUT_SLICE = 50;

/** Calls `fn` for up to FANOUT_SLICE more items; true when there are none left. */
function slice<T>(items: Iterator<T>, fn: (item: T) => void): boolean {
  for (let i = 0; i < FANOUT_SLICE; i++) {
    const next = items.next();
    if (next.done) return true;
    fn(next.value);
  }
  return false;
}

/** Calls `fn` for every item, FANOUT_SLICE per turn: the first slice in this turn, the rest after. */
export async function inSlices<T>(items: Iterator<T>, fn: (item: T) => void): Promise<void> {
  while (!slice(items, fn)) await nativeWait(0);
}

/** The batch's bytes per connection filter, made once per fan-out and shared by its streams. */
export type SharedBytes = Map<string, Uint8Array | null>;

interface Pass<S> {
  frames: Frame[];
  streams: Iterator<S>;
  shared: SharedBytes;
}

export class FanOut<S> {
  readonly #streams: () => Iterator<S>;
  readonly #write: (stream: S, frames: Frame[], shared: SharedBytes) => void;
  readonly #waitUntil: (promise: Promise<unknown>) => void;
  /** Batches handed over and not yet begun. */
  readonly #waiting: Frame[][] = [];
  #running = false;

  /** `streams`: a live iterator over the streams; `write`: one batch to one stream. */
  constructor(
    streams: () => Iterator<S>,
    write: (stream: S, frames: Frame[], shared: SharedBytes) => void,
    waitUntil: (promise: Promise<unknown>) => void,
  ) {
    this.#streams = streams;
    this.#write = write;
    this.#waitUntil = waitUntil;
  }

  /** Hands a batch (ids ascending) to every stream: the first slice now, the rest turn by turn. */
  deliver(frames: Frame[]): void {
    if (frames.length === 0) return;
    this.#waiting.push(frames);
    if (this.#running) return;
    const pass = this.#next();
    if (this.#slice(pass)) return;
    this.#running = true;
    this.#waitUntil(this.#rest(pass));
  }

  /** The rest of a fan-out, a slice per turn, then the batches that came meanwhile. */
  async #rest(pass: Pass<S>): Promise<void> {
    try {
      for (;;) {
        await nativeWait(0);
        if (!this.#slice(pass)) continue;
        if (this.#waiting.length === 0) return;
        pass = this.#next();
      }
    } finally {
      this.#running = false;
    }
  }

  /** A fan-out of every waiting batch as one (ids ascending: they were handed over in order). */
  #next(): Pass<S> {
    const batches = this.#waiting.splice(0);
    const frames = batches.length === 1 ? batches[0]! : batches.flat();
    return { frames, streams: this.#streams(), shared: new Map() };
  }

  /** Writes the batch to up to FANOUT_SLICE more streams; true when every stream has had it. */
  #slice(pass: Pass<S>): boolean {
    return slice(pass.streams, (stream) => this.#write(stream, pass.frames, pass.shared));
  }
}
