/**
 * The audit trail API, continued: the streamed export (NDJSON and CSV, page by page, scoped like the
 * list) and the audit routes in the OpenAPI document.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type AuditEvent, listAll, org, setUpAuditApi } from './audit.api.fixtures';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  type TestOrg,
} from './helpers';

beforeAll(setUpAuditApi);

describe('GET /api/v1/audit-events/export', () => {
  const EXPORT_ROWS = 1234;
  let exportOrg: TestOrg;
  let exportConn: string;

  beforeAll(async () => {
    exportOrg = await createOrg('owner');
    exportConn = (await createConnection('export-me', { key: exportOrg.key })).id;
    // Enough rows for several D1 pages; one with text a spreadsheet would run, and CSV specials.
    await env.DB.prepare(
      `INSERT INTO audit_events (id, org_id, type, connection_id, connection_slug, action, "user", trace_id, metadata, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       SELECT printf('evt_export_%05d', i), ?, 'tool_call', ?, 'export-me', 'allow',
              CASE WHEN i = 9 THEN '=HYPERLINK("x")' ELSE 'u' || (i % 3) END,
              'exp-' || i, '{"k":"a,b \\"q\\""}', ? + i
       FROM n`,
    )
      .bind(EXPORT_ROWS, exportOrg.orgId, exportConn, Date.now() - 3_600_000)
      .run();
  });

  async function readChunks(res: Response): Promise<{ text: string; chunks: number }> {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    return { text, chunks };
  }

  it('streams NDJSON page by page, newest first, every row once', async () => {
    const res = await call('GET', '/api/v1/audit-events/export?format=ndjson&type=tool_call', {
      key: exportOrg.key,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toContain('application/x-ndjson');
    expect(res.headers.get('Content-Disposition')).toMatch(/attachment; filename="audit-events-.*\.ndjson"/);
    const { text, chunks } = await readChunks(res);
    const rows = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(rows).toHaveLength(EXPORT_ROWS);
    expect(new Set(rows.map((r) => r.id)).size).toBe(EXPORT_ROWS);
    expect(rows[0]!.traceId).toBe(`exp-${EXPORT_ROWS}`);
    expect(rows.at(-1)!.traceId).toBe('exp-1');
    expect(rows[0]!.metadata).toEqual({ k: 'a,b "q"' });
    // 1234 rows at 500 a page: the body arrives as (at least) three separate pieces.
    expect(chunks).toBeGreaterThanOrEqual(3);
    // The same rows as the paged list.
    const listed = await listAll('type=tool_call', 500, exportOrg.key);
    expect(rows.map((r) => r.id)).toEqual(listed.rows.map((r) => r.id));
  });

  it('applies the same filters, and writes CSV with a header, quoting and formula guarding', async () => {
    const res = await call('GET', '/api/v1/audit-events/export?format=csv&user=u1', { key: exportOrg.key });
    expect(res.headers.get('Content-Type')).toContain('text/csv');
    const lines = (await readChunks(res)).text.trimEnd().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 4)).toEqual(['id', 'createdAt', 'type', 'action']);
    expect(lines).toHaveLength(1 + Math.floor(EXPORT_ROWS / 3) + (EXPORT_ROWS % 3 >= 1 ? 1 : 0));
    expect(lines[1]).toContain('"{""k"":""a,b \\""q\\""""}"');

    const formula = await call('GET', '/api/v1/audit-events/export?format=csv&traceId=exp-9', {
      key: exportOrg.key,
    });
    const row = (await readChunks(formula)).text.split('\r\n')[1]!;
    expect(row).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('is scoped like the list: nothing of another organization, 400 on bad input', async () => {
    const res = await call('GET', '/api/v1/audit-events/export?format=ndjson&connection=export-me', {
      key: org.key,
    });
    expect((await readChunks(res)).text).toBe('');
    await expectApiError(
      await call('GET', '/api/v1/audit-events/export?format=xml', { key: org.key }),
      400,
      'validation_failed',
    );
    const dev = await addMember(exportOrg.orgId, 'developer');
    await expectApiError(
      await call('GET', '/api/v1/audit-events/export?connection=export-me', { key: dev.key }),
      403,
      'forbidden',
    );
  });
  it('a download the client abandons part way is not logged as a failed export', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    try {
      for (let round = 0; round < 5; round++) {
        const res = await call('GET', '/api/v1/audit-events/export?format=ndjson', { key: exportOrg.key });
        if (round % 2) {
          const reader = res.body!.getReader();
          await reader.read();
          await reader.cancel();
        } else await res.body!.cancel();
      }
      // The export's pull that was under way when the client left ends after the cancel.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      spy.mockRestore();
    }
    expect(lines.filter((l) => l.includes('audit export failed'))).toEqual([]);
  });
});

describe('OpenAPI document', () => {
  it('describes the audit and events routes with their query parameters', async () => {
    const doc = await expectJson<{
      paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }>;
    }>(await call('GET', '/api/v1/openapi.json', { key: null }), 200);
    for (const path of [
      '/audit-events',
      '/audit-events/export',
      '/audit-events/{id}',
      '/traces/{traceId}',
      '/events',
    ]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    const names = doc.paths['/audit-events']!.get!.parameters!.map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'connection',
        'traceId',
        'user',
        'tool',
        'action',
        'type',
        'from',
        'to',
        'cursor',
        'limit',
      ]),
    );
  });
});
