import { describe, expect, it } from 'vitest';
import { ContentCapture, promptOf } from './langfuse.content';
import {
  boundedContent,
  CONTENT_LIMIT,
  ingestionBatch,
  type LangfuseGeneration,
  langfuseMessageSchema,
  readLangfuseMessage,
} from './langfuse.event';

function capture(messages: unknown[]): unknown {
  const c = new ContentCapture();
  const stage = c.stage();
  for (const m of messages) expect(stage.onMessage(m)).toBeUndefined();
  return c.output();
}

describe('Langfuse content capture', () => {
  it('reads whole answers and joins streamed deltas of each API family, changing nothing', () => {
    expect(capture([{ choices: [{ message: { role: 'assistant', content: 'hi' } }] }])).toEqual({
      role: 'assistant',
      content: 'hi',
    });
    expect(
      capture([{ choices: [{ delta: { content: 'he' } }] }, { choices: [{ delta: { content: 'llo' } }] }]),
    ).toBe('hello');
    expect(capture([{ type: 'message', content: [{ type: 'text', text: 'hi' }] }])).toEqual([
      { type: 'text', text: 'hi' },
    ]);
    expect(
      capture([
        { type: 'message_start', message: {} },
        { type: 'content_block_delta', delta: { type: 'text_delta', text: 'a' } },
        { type: 'content_block_delta', delta: { type: 'text_delta', text: 'b' } },
      ]),
    ).toBe('ab');
    expect(capture([{ type: 'response.output_text.delta', delta: 'x' }])).toBe('x');
    expect(capture([{ object: 'response', output: [{ type: 'message' }] }])).toEqual([{ type: 'message' }]);
    expect(capture([{ data: [] }])).toBeUndefined();
  });

  it('stops at the limit and says so', () => {
    const c = new ContentCapture();
    const stage = c.stage();
    const piece = 'x'.repeat(1000);
    for (let i = 0; i < 30; i++) stage.onMessage({ choices: [{ delta: { content: piece } }] });
    expect(stage.done?.()).toBe(true);
    expect(String(c.output()).length).toBeLessThan(CONTENT_LIMIT + 50);
    expect(String(c.output())).toContain('[truncated by Igris Edge]');
    expect(boundedContent({ big: 'y'.repeat(CONTENT_LIMIT) })).toMatch(/truncated by Igris Edge/);
  });

  it('takes the prompt from messages, input or prompt, with the system prompt', () => {
    expect(promptOf({ messages: [1] })).toEqual([1]);
    expect(promptOf({ system: 's', messages: [1] })).toEqual({ system: 's', messages: [1] });
    expect(promptOf({ input: 'q' })).toBe('q');
    expect(promptOf(null)).toBeUndefined();
  });
});

describe('Langfuse ingestion batch', () => {
  const base: LangfuseGeneration = {
    id: 'evt_1',
    traceId: 'trace-1',
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
    upstreamStatus: 502,
    error: null,
    usage: null,
    costUsd: null,
  };

  it('is a trace-create and a generation-create per call; a failed call is an ERROR with its status', () => {
    const { batch } = ingestionBatch([base], '2026-12-03T12:00:02.000Z', () => 'u');
    expect(batch.map((e) => e.type)).toEqual(['trace-create', 'generation-create']);
    const generation = batch[1] as unknown as { body: Record<string, unknown> };
    expect(generation.body).toMatchObject({
      id: 'evt_1',
      traceId: 'trace-1',
      level: 'ERROR',
      statusMessage: 'upstream answered HTTP 502',
    });
    expect(generation.body).not.toHaveProperty('input');
    expect(generation.body).not.toHaveProperty('usageDetails');
  });
});

describe('Langfuse queue messages', () => {
  const generation = {
    id: 'evt_1',
    traceId: 'trace-1',
    name: 'chat.completions',
    model: null,
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
    usage: { input: 3, cachedInput: 0, output: 2, reasoning: null, total: 5 },
    costUsd: null,
  };

  it('reads a message the gateway wrote, and every message the schema accepts', () => {
    const message = { kind: 'langfuse', orgId: 'org_1', generation };
    expect(langfuseMessageSchema.safeParse(message).success).toBe(true);
    expect(readLangfuseMessage(message)).toEqual(message);
    const noUsage = { ...message, generation: { ...generation, usage: null, connectionSlug: '' } };
    expect(langfuseMessageSchema.safeParse(noUsage).success).toBe(true);
    expect(readLangfuseMessage(noUsage)).toEqual(noUsage);
  });

  it('drops what is not one (another kind, no organization, no usable generation)', () => {
    for (const body of [
      null,
      'text',
      { kind: 'route', orgId: 'org_1', generation },
      { kind: 'langfuse', orgId: '', generation },
      { kind: 'langfuse', orgId: 'o'.repeat(101), generation },
      { kind: 'langfuse', orgId: 'org_1' },
      { kind: 'langfuse', orgId: 'org_1', generation: { ...generation, traceId: 7 } },
      { kind: 'langfuse', orgId: 'org_1', generation: { ...generation, id: '' } },
      { kind: 'langfuse', orgId: 'org_1', generation: { ...generation, usage: 'lots' } },
    ]) {
      expect(readLangfuseMessage(body)).toBeNull();
    }
  });
});
