import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FANOUT_SLICE, FanOut, inSlices } from './event.fanout';
import type { Frame } from './event.frame';

const frame = (seq: number): Frame => ({ seq, connection: null, bytes: new Uint8Array([seq]) });

/** Streams as ids in a Set; what each received, as the seqs of each write. */
function setup(count: number) {
  const streams = new Set(Array.from({ length: count }, (_, i) => i));
  const got = new Map<number, number[][]>();
  const pending: Promise<unknown>[] = [];
  const fanOut = new FanOut<number>(
    () => streams.values(),
    (stream, frames) => {
      const list = got.get(stream) ?? [];
      list.push(frames.map((f) => f.seq));
      got.set(stream, list);
    },
    (p) => pending.push(p),
  );
  const settle = async () => {
    while (pending.length > 0) await pending.shift();
  };
  return { streams, got, fanOut, settle, pending };
}

describe('a hub’s fan-out, a slice of streams per turn', () => {
  // Plain Node has no workerd `scheduler`; a macrotask is what the yield stands for.
  beforeEach(() =>
    vi.stubGlobal('scheduler', { wait: (ms: number) => new Promise((r) => setTimeout(r, ms)) }),
  );
  afterEach(() => vi.unstubAllGlobals());

  it('writes a hub smaller than a slice in the publishing turn, with nothing left for later', () => {
    const { got, fanOut, pending } = setup(FANOUT_SLICE - 1);
    fanOut.deliver([frame(1)]);
    expect(got.size).toBe(FANOUT_SLICE - 1);
    expect(pending).toHaveLength(0);
  });

  it('writes one slice now and the rest in later turns, each stream once', async () => {
    const count = FANOUT_SLICE * 2 + 7;
    const { got, fanOut, settle } = setup(count);
    fanOut.deliver([frame(1), frame(2)]);
    expect(got.size).toBe(FANOUT_SLICE);
    await settle();
    expect(got.size).toBe(count);
    for (const writes of got.values()) expect(writes).toEqual([[1, 2]]);
  });

  it('keeps id order: batches that come during a fan-out wait for it, then go out together', async () => {
    const count = FANOUT_SLICE * 3;
    const { got, fanOut, settle } = setup(count);
    fanOut.deliver([frame(1)]);
    fanOut.deliver([frame(2)]);
    fanOut.deliver([frame(3), frame(4)]);
    // Only the first batch's first slice so far: no stream got 2 before 1.
    expect([...got.values()].flat()).toEqual(Array.from({ length: FANOUT_SLICE }, () => [1]));
    await settle();
    for (const writes of got.values()) expect(writes).toEqual([[1], [2, 3, 4]]);
  });

  it('visits streams that join during a fan-out and skips those that leave', async () => {
    const count = FANOUT_SLICE * 2;
    const { streams, got, fanOut, settle } = setup(count);
    fanOut.deliver([frame(1)]);
    streams.delete(count - 1);
    streams.add(1_000);
    await settle();
    expect(got.has(count - 1)).toBe(false);
    expect(got.get(1_000)).toEqual([[1]]);
    expect(got.size).toBe(count);
  });

  it('runs a keepalive round a slice per turn as well, every stream once', async () => {
    const count = FANOUT_SLICE * 2 + 1;
    const seen: number[] = [];
    const round = inSlices([...Array(count).keys()].values(), (i) => seen.push(i));
    expect(seen).toHaveLength(FANOUT_SLICE);
    await round;
    expect(seen).toEqual([...Array(count).keys()]);
  });

  it('hands nothing on for an empty batch', () => {
    const { got, fanOut } = setup(3);
    fanOut.deliver([]);
    expect(got.size).toBe(0);
  });
});
