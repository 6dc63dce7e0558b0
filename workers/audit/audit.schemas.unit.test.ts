import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auditExportQuerySchema,
  auditListQuerySchema,
  decodeCursor,
  encodeCursor,
  MAX_PAGE,
  parseTime,
  toAuditEventDto,
} from './audit.schemas.ts';

describe('parseTime', () => {
  it('reads milliseconds and ISO 8601', () => {
    expect(parseTime('0')).toBe(0);
    expect(parseTime('1732233600000')).toBe(1732233600000);
    expect(parseTime('2026-11-22T03:00:00Z')).toBe(Date.UTC(2026, 10, 22, 3));
    expect(parseTime('2026-11-22T03:00:00.250+01:00')).toBe(Date.UTC(2026, 10, 22, 2, 0, 0, 250));
    expect(parseTime('2026-11-22')).toBe(Date.UTC(2026, 10, 22));
  });

  it('refuses anything else', () => {
    for (const bad of [
      '',
      'yesterday',
      '-5',
      '1e12',
      '2026-13-45T00:00:00Z',
      'Sun, 22 Nov 2026 03:00:00 GMT',
      '12.5',
    ]) {
      expect(parseTime(bad), bad).toBeNull();
    }
  });

  it('round-trips any time through its ISO form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8_640_000_000_000 }), (ms) => {
        expect(parseTime(new Date(ms).toISOString())).toBe(ms);
        expect(parseTime(String(ms))).toBe(ms);
      }),
    );
  });
});

describe('cursor', () => {
  it('round-trips any (created_at, id) and is URL-safe', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.string({ minLength: 1, maxLength: 200 }),
        (createdAt, id) => {
          const cursor = encodeCursor({ createdAt, id });
          expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(decodeCursor(cursor)).toEqual({ createdAt, id });
        },
      ),
    );
  });

  it('rejects what it did not make', () => {
    for (const bad of [
      '',
      'abc',
      '!!!',
      btoa('[1]'),
      btoa('["1","x"]'),
      btoa('[1.5,"x"]'),
      btoa('[1,""]'),
      btoa('{}'),
    ]) {
      expect(decodeCursor(bad.replace(/=+$/, '')), bad).toBeNull();
    }
  });
});

describe('query schemas', () => {
  it('defaults and bounds the page size', () => {
    expect(auditListQuerySchema.parse({}).limit).toBe(100);
    expect(auditListQuerySchema.parse({ limit: String(MAX_PAGE) }).limit).toBe(MAX_PAGE);
    expect(auditListQuerySchema.safeParse({ limit: String(MAX_PAGE + 1) }).success).toBe(false);
    expect(auditListQuerySchema.safeParse({ limit: '0' }).success).toBe(false);
    expect(auditListQuerySchema.safeParse({ limit: '2.5' }).success).toBe(false);
  });

  it('turns from/to into milliseconds and the cursor into a position', () => {
    const cursor = encodeCursor({ createdAt: 5, id: 'evt_a' });
    expect(auditListQuerySchema.parse({ from: '2026-01-01T00:00:00Z', to: '99', cursor })).toMatchObject({
      from: Date.UTC(2026, 0, 1),
      to: 99,
      cursor: { createdAt: 5, id: 'evt_a' },
    });
    const bad = auditListQuerySchema.safeParse({ from: 'soon' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['from']);
  });

  it('takes only the known export formats', () => {
    expect(auditExportQuerySchema.parse({}).format).toBe('ndjson');
    expect(auditExportQuerySchema.parse({ format: 'csv' }).format).toBe('csv');
    expect(auditExportQuerySchema.safeParse({ format: 'xlsx' }).success).toBe(false);
  });
});

describe('toAuditEventDto', () => {
  it('parses JSON columns and writes times as ISO', () => {
    const dto = toAuditEventDto({
      id: 'evt_1',
      org_id: 'org_1',
      type: 'tool_call',
      connection_id: null,
      connection_slug: null,
      session_id: null,
      mcp_session_id: null,
      api_key_id: null,
      actor: null,
      user: null,
      trace_id: null,
      metadata: '{"a":[1,2]}',
      metadata_error: null,
      method: null,
      tool: null,
      action: 'allow',
      rule_index: null,
      policy_version: null,
      upstream_status: null,
      latency_ms: null,
      error_code: null,
      details: 'not json',
      model: 'gpt-4o',
      input_tokens: 10,
      cached_input_tokens: 2,
      output_tokens: 5,
      reasoning_tokens: null,
      cost_usd: 0.0001,
      created_at: 0,
    });
    expect(dto).toMatchObject({
      model: 'gpt-4o',
      inputTokens: 10,
      cachedInputTokens: 2,
      outputTokens: 5,
      reasoningTokens: null,
      costUsd: 0.0001,
    });
    expect(dto.metadata).toEqual({ a: [1, 2] });
    expect(dto.details).toBe('not json');
    expect(dto.createdAt).toBe('1970-01-01T00:00:00.000Z');
  });
});
