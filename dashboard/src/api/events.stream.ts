/**
 * The organization's live events (GET /api/v1/events, Server-Sent Events).
 *
 * Signed in with the cookie: a real EventSource with credentials (it reconnects on its own and
 * resumes with Last-Event-ID). Signed in with an API key: EventSource cannot send an Authorization
 * header, so the same stream is read with fetch and parsed here, with the same resume behaviour.
 *
 * `since` (first open only): the stream first replays the events whose timestamp is at or after it,
 * then sends an `id:` line alone — the id a reconnect resumes after (Last-Event-ID wins over `since`
 * on the server, so the reconnect does not replay by time again).
 */
import { apiUrl, getCredentials } from './api.client';
import type { GatewayEvent } from './api.types';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

const EVENT_TYPES = [
  'tool_call',
  'llm_call',
  'findings',
  'anomaly',
  'session_update',
  'policy_update',
  'connection_update',
] as const;
const RETRY_MS = 2000;

export interface StreamOptions {
  /** ISO time: replay the held events at or after it before going live (docs/events.md). */
  since?: string;
}

export interface StreamHandlers {
  onEvent(event: GatewayEvent, id: string | null): void;
  onStatus(status: StreamStatus): void;
  /** The hub's replay buffer did not reach back far enough: some events were missed. */
  onGap?(): void;
}

function parse(data: string): GatewayEvent | null {
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === 'object' && 'type' in value ? (value as GatewayEvent) : null;
  } catch {
    return null;
  }
}

export function openEventStream(handlers: StreamHandlers, options: StreamOptions = {}): () => void {
  const credentials = getCredentials();
  if (credentials.kind === 'apiKey') return openFetchStream(credentials.key, handlers, options);
  return openEventSource(handlers, options);
}

function eventsPath(since: string | undefined): string {
  return since === undefined ? '/api/v1/events' : `/api/v1/events?since=${encodeURIComponent(since)}`;
}

function openEventSource(handlers: StreamHandlers, options: StreamOptions): () => void {
  handlers.onStatus('connecting');
  let source: EventSource;
  const connect = (since: string | undefined) => {
    let opened = false;
    source = new EventSource(apiUrl(eventsPath(since)), { withCredentials: true });
    source.onopen = () => {
      opened = true;
      handlers.onStatus('live');
    };
    source.onerror = () => {
      // A `since` the server refused (a clock far off, or no stream for minutes): go live without
      // it, and say that something may be missing.
      if (since !== undefined && !opened && source.readyState === EventSource.CLOSED) {
        handlers.onGap?.();
        connect(undefined);
        return;
      }
      handlers.onStatus(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (message: MessageEvent<string>) => {
        const event = parse(message.data);
        if (event) handlers.onEvent(event, message.lastEventId || null);
      });
    }
    source.addEventListener('gap', () => handlers.onGap?.());
  };
  connect(options.since);
  return () => source.close();
}

/** One SSE frame's fields (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
interface Frame {
  id: string | null;
  event: string;
  data: string;
}

/** One SSE block's fields; `data` null when it had none (a comment, or an `id:` line alone). */
function parseFrame(block: string): Omit<Frame, 'data'> & { data: string | null } {
  let id: string | null = null;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { id, event, data: data.length === 0 ? null : data.join('\n') };
}

function openFetchStream(key: string, handlers: StreamHandlers, options: StreamOptions): () => void {
  const controller = new AbortController();
  let lastEventId: string | null = null;
  let since = options.since;
  let stopped = false;

  const run = async () => {
    while (!stopped) {
      handlers.onStatus(lastEventId === null ? 'connecting' : 'reconnecting');
      try {
        const headers: Record<string, string> = {
          Authorization: `Bearer ${key}`,
          Accept: 'text/event-stream',
        };
        if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
        // `since` only until the stream has given an id: from then on a reconnect resumes by id.
        const res = await fetch(apiUrl(eventsPath(lastEventId === null ? since : undefined)), {
          headers,
          signal: controller.signal,
          credentials: 'omit',
        });
        if (res.status === 401 || res.status === 403) {
          handlers.onStatus('closed');
          return;
        }
        if (res.status === 400 && since !== undefined && lastEventId === null) {
          // A `since` the server refused (a clock far off): go live without it; something may be missing.
          since = undefined;
          handlers.onGap?.();
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        handlers.onStatus('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const frame = parseFrame(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            // (An `id:` line alone, as after a replay by time, sets where a reconnect resumes.)
            if (frame.id) lastEventId = frame.id;
            if (frame.event === 'gap') handlers.onGap?.();
            else if (frame.data !== null) {
              const event = parse(frame.data);
              if (event) handlers.onEvent(event, frame.id);
            }
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        if (stopped) return;
      }
      if (stopped) return;
      handlers.onStatus('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}
