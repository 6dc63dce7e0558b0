/**
 * Shared by the tests that send to a fake Langfuse (the local fake of test/shared/oversize.fake.ts):
 * logs.remote-text.test.ts (a refusal that quotes the request) and remote.limits.test.ts (an
 * acknowledgement over its cap) — one generation as the gateway reports it, and an organization
 * whose Langfuse integration points at the fake.
 */
import { expect } from 'vitest';
import type { LangfuseGeneration } from '../../workers/langfuse/langfuse.event';
import { call, createOrg, type TestOrg } from './helpers';

/** A successful chat completion's generation, under the test's own event and trace ids. */
export function langfuseGeneration(ids: { id: string; traceId: string }): LangfuseGeneration {
  return {
    id: ids.id,
    traceId: ids.traceId,
    name: 'chat.completions',
    model: 'gpt-4o',
    provider: 'openai',
    connectionId: 'con_1',
    connectionSlug: 'oai',
    user: null,
    metadata: null,
    startTime: '2026-12-03T12:00:00.000Z',
    endTime: '2026-12-03T12:00:01.000Z',
    completionStartTime: null,
    upstreamStatus: 200,
    error: null,
    usage: null,
    costUsd: null,
  };
}

/** A new organization (its owner's key) whose Langfuse integration sends to `host` with these keys. */
export async function orgSendingTo(
  host: string,
  keys: { publicKey: string; secretKey: string },
): Promise<TestOrg> {
  const org = await createOrg('owner');
  const put = await call('PUT', '/api/v1/integrations/langfuse', { key: org.key, body: { host, ...keys } });
  expect(put.status, await put.clone().text()).toBe(200);
  return org;
}
