/** A minimal Server-Sent Events reader over fetch, for the live events end-to-end tests. */

export interface SseFrame {
  id: string | null;
  event: string | null;
  data: string | null;
  comments: string[];
}

export class SseClient {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  readonly #abort: AbortController;
  #buffer = '';

  private constructor(reader: ReadableStreamDefaultReader<Uint8Array>, abort: AbortController) {
    this.#reader = reader;
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
  async frame(timeoutMs = 30_000): Promise<SseFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const frame: SseFrame = { id: null, event: null, data: null, comments: [] };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) frame.comments.push(line.slice(1).trim());
          else if (line.startsWith('id: ')) frame.id = line.slice(4);
          else if (line.startsWith('event: ')) frame.event = line.slice(7);
          else if (line.startsWith('data: ')) frame.data = line.slice(6);
        }
        return frame;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no SSE frame within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no SSE frame within ${timeoutMs} ms`)), remaining);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error('SSE stream ended');
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
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
    this.#reader.cancel().catch(() => {});
  }
}

/** The JSON `data` of a frame. */
export function dataOf<T = Record<string, unknown>>(frame: SseFrame): T {
  return JSON.parse(frame.data ?? 'null') as T;
}
