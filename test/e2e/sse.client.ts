/** A minimal Server-Sent Events reader over fetch, for the live events end-to-end tests. */

import { type SseFrame, SseFrameReader } from '../shared/sse.frames';

export type { SseFrame };

export class SseClient {
  readonly #frames: SseFrameReader;
  readonly #abort: AbortController;

  private constructor(reader: ReadableStreamDefaultReader<Uint8Array>, abort: AbortController) {
    this.#frames = new SseFrameReader(reader);
    this.#abort = abort;
  }

  static async open(url: string, key: string, lastEventId?: string): Promise<SseClient> {
    const abort = new AbortController();
    const res = await fetch(url, {
      headers: {
        Authorization: `Bearer ${key}`,
        Accept: 'text/event-stream',
        ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}),
      },
      signal: abort.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
    const client = new SseClient(res.body.getReader(), abort);
    const hello = await client.frame();
    if (!hello.comments.includes('connected')) throw new Error('no hello frame');
    return client;
  }

  /** The next frame; throws when none arrives in time or the stream ends. */
  frame(timeoutMs = 30_000): Promise<SseFrame> {
    return this.#frames.frame(timeoutMs);
  }

  /** The next `n` event frames for which `accept` holds (comments and other events are skipped). */
  async events(
    n: number,
    accept: (f: SseFrame) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<SseFrame[]> {
    const out: SseFrame[] = [];
    while (out.length < n) {
      const f = await this.frame(timeoutMs);
      if (f.data !== null && accept(f)) out.push(f);
    }
    return out;
  }

  /** Reads event frames until the stream breaks (e.g. the runtime was killed); returns what came. */
  async drainUntilBroken(accept: (f: SseFrame) => boolean, timeoutMs = 60_000): Promise<SseFrame[]> {
    const out: SseFrame[] = [];
    try {
      for (;;) {
        const f = await this.frame(timeoutMs);
        if (f.data !== null && accept(f)) out.push(f);
      }
    } catch {
      return out;
    }
  }

  close(): void {
    this.#abort.abort();
    void this.#frames.cancel();
  }
}

/** The JSON `data` of a frame. */
export function dataOf<T = Record<string, unknown>>(frame: SseFrame): T {
  return JSON.parse(frame.data ?? 'null') as T;
}
