/**
 * Reads a Server-Sent Events body frame by frame. Runtime-neutral (web streams only), so the
 * workerd tests and the end-to-end tests share one parser.
 */
export interface SseFrame {
  id: string | null;
  event: string | null;
  data: string | null;
  comments: string[];
}

export class SseFrameReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = '';

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /** The next frame; throws when none arrives in time or the stream ends. */
  async frame(timeoutMs: number): Promise<SseFrame> {
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
      let timer: ReturnType<typeof setTimeout> | undefined;
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

  cancel(): Promise<void> {
    return this.#reader.cancel().catch(() => {});
  }
}
