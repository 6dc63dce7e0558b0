/**
 * LLM calls to Langfuse, end to end (docs/observability.md#langfuse): two organizations, each with
 * its own Langfuse project on a local fake of Langfuse's public ingestion API (plain node:http)
 * that requires the project's Basic auth and validates every batch against the API's shape. Real
 * calls go through the local runtime with the official `openai` client to the local fake provider;
 * the gateway queues each finished call and the queue consumer sends one ingestion batch per
 * organization. Checked: the trace and generation (model, tokens, cost, latency, status, user,
 * trace id, metadata), content only for the connection that logs content (JSON and streamed),
 * the secret key never returned, organization B's calls never reaching A's project, a redacted
 * value reaching Langfuse only as its placeholder, and an answer inspection blocked or masked
 * reaching it only as a withheld note.
 */
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createOrgInD1 } from './helpers';
import { generationsOf, type Project, startFakeLangfuse, tracesOf } from './langfuse.fake-ingestion.ts';
import { FAKE_SPLIT_SECRET } from './llm.fake-provider.split.ts';
import { FAKE_REPLY, FAKE_USAGE, type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const PROVIDER_KEY = `sk-provider-lf-${RUN}`;
const messages = [{ role: 'user' as const, content: 'Say hello' }];
const SPLIT_RULE = 'secret.aws_access_key_id';

const projects: Record<'a' | 'b', Project> = {
  a: { publicKey: `pk-lf-a-${RUN}`, secretKey: `sk-lf-a-${RUN}`, batches: [] },
  b: { publicKey: `pk-lf-b-${RUN}`, secretKey: `sk-lf-b-${RUN}`, batches: [] },
};
const refused: string[] = [];

async function until<T>(what: string, probe: () => T | undefined, ms = 40_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; refused: ${refused.join(' | ')}`);
}

let langfuse: { server: Server; url: string } | undefined;
let provider: FakeProvider;
const orgs: Record<'a' | 'b', { key: string; client: OpenAI }> = {} as never;

async function setUpOrg(name: 'a' | 'b', logContent: boolean, host: string): Promise<void> {
  const { key } = await createOrgInD1(`langfuse-${name}`);
  const slug = `lf-${name}-${RUN}`;
  const created = await api(
    'POST',
    '/connections',
    {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${provider.url}/v1`,
      credential: PROVIDER_KEY,
      settings: { provider: 'openai-compatible', logContent },
    },
    key,
  );
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(
    (await api('PUT', `/connections/${slug}/policy`, { rules: [{ tool: '*', action: 'allow' }] }, key))
      .status,
  ).toBe(200);
  const price = await api(
    'PUT',
    '/llm/prices',
    {
      provider: 'openai-compatible',
      model: 'fake-gpt',
      inputPerMTok: 1,
      cachedInputPerMTok: 0.5,
      outputPerMTok: 2,
    },
    key,
  );
  expect(price.status).toBe(200);
  const project = projects[name];
  const saved = await api(
    'PUT',
    '/integrations/langfuse',
    { host, publicKey: project.publicKey, secretKey: project.secretKey },
    key,
  );
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  expect(saved.body).toMatchObject({ enabled: true, host, publicKey: project.publicKey, hasSecretKey: true });
  const read = await api<{ langfuse: unknown }>('GET', '/integrations/langfuse', undefined, key);
  expect(JSON.stringify(read.body)).not.toContain(project.secretKey);
  orgs[name] = {
    key,
    client: openaiClient(slug, { apiKey: key }),
  };
}

beforeAll(async () => {
  langfuse = await startFakeLangfuse(projects, refused);
  provider = await startFakeProvider({ apiKey: PROVIDER_KEY });
  const host = langfuse.url;
  await setUpOrg('a', true, host);
  await setUpOrg('b', false, host);
}, 240_000);

afterAll(async () => {
  // Nothing left queued for a receiver that is about to go.
  for (const org of Object.values(orgs)) await api('DELETE', '/integrations/langfuse', undefined, org.key);
  langfuse?.server.close();
  await provider?.close();
});

describe('LLM calls to Langfuse', () => {
  it('sends each organization its own calls: figures always, content only where the connection logs it', {
    timeout: 90_000,
  }, async () => {
    const traceA = `lf-a-${RUN}`;
    const traceB = `lf-b-${RUN}`;
    const streamTrace = `lf-a-stream-${RUN}`;
    const completion = await orgs.a.client.chat.completions.create(
      { model: 'fake-gpt', messages },
      { headers: { 'X-Igris-Trace-Id': traceA, 'X-Igris-User': 'alice@example.com' } },
    );
    expect(completion.choices[0]?.message.content).toBe(FAKE_REPLY);
    const stream = await orgs.a.client.chat.completions.create(
      { model: 'fake-gpt', messages, stream: true },
      { headers: { 'X-Igris-Trace-Id': streamTrace } },
    );
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(FAKE_REPLY);
    await orgs.b.client.chat.completions.create(
      { model: 'fake-gpt', messages },
      { headers: { 'X-Igris-Trace-Id': traceB, 'X-Igris-User': 'bob@example.com' } },
    );

    const a = await until('A’s two generations', () => {
      const list = generationsOf(projects.a);
      return list.some((g) => g.traceId === traceA) && list.some((g) => g.traceId === streamTrace)
        ? list
        : undefined;
    });
    const b = await until('B’s generation', () => {
      const list = generationsOf(projects.b);
      return list.some((g) => g.traceId === traceB) ? list : undefined;
    });
    expect(refused).toEqual([]);

    // Tenant isolation: each project holds its own organization's calls only.
    expect(a.map((g) => g.traceId)).not.toContain(traceB);
    expect(b.map((g) => g.traceId)).toEqual([traceB]);
    expect(tracesOf(projects.a).map((t) => t.id)).not.toContain(traceB);

    const json = a.find((g) => g.traceId === traceA)!;
    expect(json).toMatchObject({
      name: 'chat.completions',
      model: 'fake-gpt',
      level: 'DEFAULT',
      usageDetails: {
        input: FAKE_USAGE.input - FAKE_USAGE.cachedInput,
        input_cached_tokens: FAKE_USAGE.cachedInput,
        output: FAKE_USAGE.output,
        output_reasoning_tokens: FAKE_USAGE.reasoning,
      },
      metadata: {
        provider: 'openai-compatible',
        connection: `lf-a-${RUN}`,
        upstreamStatus: 200,
        user: 'alice@example.com',
      },
      input: messages,
      output: { role: 'assistant', content: FAKE_REPLY },
    });
    // (12 − 4) × $1 + 4 × $0.5 + 6 × $2 per million tokens.
    expect(json.costDetails?.total).toBeCloseTo(0.000022, 10);
    expect(Date.parse(json.endTime)).toBeGreaterThanOrEqual(Date.parse(json.startTime));
    expect(json.completionStartTime).toBeDefined();
    expect(tracesOf(projects.a).find((t) => t.id === traceA)).toMatchObject({ userId: 'alice@example.com' });

    // Streamed: the deltas joined.
    expect(a.find((g) => g.traceId === streamTrace)).toMatchObject({ input: messages, output: FAKE_REPLY });

    // B's connection does not log content: figures and identifiers only.
    const onlyFigures = b[0]!;
    expect(onlyFigures).toMatchObject({ model: 'fake-gpt', metadata: { user: 'bob@example.com' } });
    expect(onlyFigures.input).toBeUndefined();
    expect(onlyFigures.output).toBeUndefined();
    expect(JSON.stringify(projects.b.batches)).not.toContain('Say hello');
    expect(JSON.stringify(projects.b.batches)).not.toContain(FAKE_REPLY);
  });

  it('gets a redacted value as its placeholder, never the original the caller gets back', {
    timeout: 90_000,
  }, async () => {
    // A connection of A that logs content and redacts emails; `fake-echo` answers with the prompt
    // as the provider received it, so the answer carries the placeholder the gateway restores.
    const slug = `lf-redact-${RUN}`;
    const email = `jane.lf.${RUN}@example.com`;
    const created = await api(
      'POST',
      '/connections',
      {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${provider.url}/v1`,
        credential: PROVIDER_KEY,
        settings: {
          provider: 'openai-compatible',
          logContent: true,
          inspection: { packs: ['llm-compliance-gdpr'] },
        },
      },
      orgs.a.key,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const policy = { rules: [{ tool: '*', action: 'allow' }] };
    expect((await api('PUT', `/connections/${slug}/policy`, policy, orgs.a.key)).status).toBe(200);
    const client = openaiClient(slug, { apiKey: orgs.a.key });
    const ask = [{ role: 'user' as const, content: `Write to ${email} today` }];
    const jsonTrace = `lf-redact-json-${RUN}`;
    const streamTrace = `lf-redact-stream-${RUN}`;
    const answer = await client.chat.completions.create(
      { model: 'fake-echo', messages: ask },
      { headers: { 'X-Igris-Trace-Id': jsonTrace } },
    );
    expect(answer.choices[0]?.message.content).toContain(email);
    const stream = await client.chat.completions.create(
      { model: 'fake-echo', messages: ask, stream: true },
      { headers: { 'X-Igris-Trace-Id': streamTrace } },
    );
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toContain(email);

    const sent = await until('the two redacted generations', () => {
      const list = generationsOf(projects.a).filter(
        (g) => g.traceId === jsonTrace || g.traceId === streamTrace,
      );
      return list.length === 2 ? list : undefined;
    });
    for (const g of sent) {
      expect(JSON.stringify(g.input)).toContain('[EMAIL_1]');
      expect(JSON.stringify(g.output)).toContain('[EMAIL_1]');
    }
    expect(JSON.stringify(projects.a.batches)).not.toContain(email);
  });

  it('gets no text of an answer content inspection blocked or masked, only a withheld note', {
    timeout: 90_000,
  }, async () => {
    // Model `fake-split` answers with an AWS key id the prompt never held: blocked on one
    // connection, masked for the caller on the other (docs/detections.md).
    const make = async (slug: string, action: string) => {
      const settings = {
        provider: 'openai-compatible',
        logContent: true,
        inspection: { packs: ['llm-standard-security'], overrides: { rules: { [SPLIT_RULE]: action } } },
      };
      const body = {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${provider.url}/v1`,
        credential: PROVIDER_KEY,
        settings,
      };
      expect((await api('POST', '/connections', body, orgs.a.key)).status).toBe(201);
      const policy = { rules: [{ tool: '*', action: 'allow' }] };
      expect((await api('PUT', `/connections/${slug}/policy`, policy, orgs.a.key)).status).toBe(200);
      return openaiClient(slug, { apiKey: orgs.a.key });
    };
    const traces = [`lf-block-${RUN}`, `lf-mask-${RUN}`];
    const blocked = await (await make(`lf-block-${RUN}`, 'block')).chat.completions
      .create({ model: 'fake-split', messages }, { headers: { 'X-Igris-Trace-Id': traces[0]! } })
      .catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const masked = await (await make(`lf-mask-${RUN}`, 'redact')).chat.completions.create(
      { model: 'fake-split', messages },
      { headers: { 'X-Igris-Trace-Id': traces[1]! } },
    );
    expect(JSON.stringify(masked)).toContain('[SECRET_1]');
    const sent = await until('the two guarded generations', () => {
      const list = generationsOf(projects.a).filter((g) => traces.includes(g.traceId as string));
      return list.length === 2 ? list : undefined;
    });
    // workers/langfuse/langfuse.content.ts WITHHELD_OUTPUT
    for (const g of sent) expect(g.output).toMatch(/^\[withheld by Igris Edge: content inspection/);
    expect(JSON.stringify(projects.a.batches)).not.toContain(FAKE_SPLIT_SECRET);
  });

  it('refuses a host with credentials in it, without echoing the secret', async () => {
    const bad = await api(
      'PUT',
      '/integrations/langfuse',
      { host: 'https://user:pw@langfuse.example.com', publicKey: 'pk', secretKey: 'sk-secret-x' },
      orgs.a.key,
    );
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).not.toContain('sk-secret-x');
  });
});
