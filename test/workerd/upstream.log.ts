/** Reading the recording proxy's log from inside workerd (see upstream.recorder.ts). */
import { env } from 'cloudflare:workers';

export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The recorder's upstream URL for a path (`/stateless`, `/mcp`): connections created with it are recorded. */
export function recordedUpstream(path = '/stateless'): string {
  return `${env.UPSTREAM_RECORDER_URL}${path}`;
}

/** Every request the upstream received with this User-Agent, oldest first. */
export async function receivedBy(userAgent: string): Promise<RecordedCall[]> {
  const res = await fetch(`${env.UPSTREAM_RECORDER_URL}/__log?ua=${encodeURIComponent(userAgent)}`);
  return (await res.json()) as RecordedCall[];
}

let counter = 0;
/** A User-Agent no other call uses, so a test finds exactly its own upstream requests. */
export function uniqueAgent(label: string): string {
  return `igris-test/${label}-${Date.now().toString(36)}-${++counter}`;
}
