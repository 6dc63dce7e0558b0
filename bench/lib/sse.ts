/** A small SSE subscriber for GET /api/v1/events: parses frames as they arrive and timestamps them. */
import http from 'node:http';

export interface SseFrame {
  id: string | null;
  event: string | null;
  data: string;
  /** performance.now() when the frame's last byte arrived. */
  at: number;
}

export interface SseSubscriber {
  /** Resolves when the response headers and the first bytes (`: connected`) arrived. */
  ready: Promise<void>;
  close(): void;
}

export function subscribe(url: URL, apiKey: string, onFrame: (frame: SseFrame) => void): SseSubscriber {
  let buffer = '';
  let resolveReady!: () => void;
  let rejectReady!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const req = http.get(
    {
      host: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      // One connection per subscriber, as separate clients would have.
      agent: false,
      headers: { Authorization: `Bearer ${apiKey}`, Accept: 'text/event-stream' },
    },
    (res) => {
      if (res.statusCode !== 200) {
        rejectReady(new Error(`events: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = performance.now();
        resolveReady();
        buffer += chunk;
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const frame: SseFrame = { id: null, event: null, data: '', at };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) frame.id = line.slice(3).trim();
            else if (line.startsWith('event:')) frame.event = line.slice(6).trim();
            else if (line.startsWith('data:')) {
              frame.data += (hasData ? '\n' : '') + line.slice(5).trimStart();
              hasData = true;
            }
          }
          if (hasData) onFrame(frame);
          cut = buffer.indexOf('\n\n');
        }
      });
      res.on('error', () => {});
    },
  );
  req.on('error', (err) => rejectReady(err));
  return {
    ready,
    close: () => req.destroy(),
  };
}
