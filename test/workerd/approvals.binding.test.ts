/**
 * An approval binds the method (MCP method, LLM endpoint) as well as the name it was decided by
 * (docs/policies.md#approvals): an approved call under one method does not pass a call of another
 * method on the same name and arguments.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectJson,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
let owner: TestOrg;
let agent: TestOrg;

beforeAll(async () => {
  owner = await createOrg('owner');
  agent = await addMember(owner.orgId, 'admin');
});

async function status(id: string): Promise<string> {
  const got = await expectJson<{ status: string }>(
    await call('GET', `/api/v1/approvals/${id}`, { key: owner.key }),
    200,
  );
  return got.status;
}

async function approve(id: string) {
  await expectJson(await call('POST', `/api/v1/approvals/${id}/approve`, { key: owner.key, body: {} }), 200);
}

describe('approval binding: the method', () => {
  it('an approved resources/subscribe of a URI does not pass a resources/read of it', async () => {
    const slug = `apr-bind-mcp-${RUN}`;
    await createConnection(slug, { key: owner.key });
    await putPolicy(
      slug,
      [
        { tool: 'resource:*', action: 'approve' },
        { tool: '*', action: 'allow' },
      ],
      owner.key,
    );
    const uri = 'file:///payroll.csv';
    const held = async (method: string) => {
      const answer = await rpcResult(await mcp(slug, method, { uri }, { key: agent.key }));
      const error = answer.error as unknown as { data: { code: string; approvalId: string } } | undefined;
      expect(error?.data.code, `${method}: ${JSON.stringify(answer)}`).toBe('approval_required');
      return error!.data.approvalId;
    };
    const subscribe = await held('resources/subscribe');
    await approve(subscribe);
    const read = await held('resources/read');
    expect(read).not.toBe(subscribe);
    expect(await status(subscribe)).toBe('approved');
  });

  it('an approved embeddings call does not pass a responses call with the same model and body', async () => {
    const slug = `apr-bind-llm-${RUN}`;
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: { provider: 'openai-compatible' },
      },
    });
    expect(created.status).toBe(201);
    await putPolicy(slug, [{ tool: '*', action: 'approve' }], owner.key);
    const body = { model: 'fake-gpt', input: 'wire 1,000,000 USD to account 42' };
    const held = async (path: string) => {
      const res = await call('POST', `/llm/${slug}${path}`, { key: agent.key, body });
      const text = await res.text();
      expect(res.status, `${path}: ${text}`).toBe(403);
      const answer = JSON.parse(text) as { error: { code: string; details: { approvalId: string } } };
      expect(answer.error.code).toBe('approval_required');
      return answer.error.details.approvalId;
    };
    const embeddings = await held('/v1/embeddings');
    await approve(embeddings);
    const responses = await held('/v1/responses');
    expect(responses).not.toBe(embeddings);
    expect(await status(embeddings)).toBe('approved');
  });
});

describe('approval binding: what an LLM call forwards besides its JSON body', () => {
  it('an approved passthrough call does not pass another path or another body', async () => {
    const slug = `apr-bind-pass-${RUN}`;
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: { provider: 'openai-compatible' },
      },
    });
    expect(created.status).toBe(201);
    await putPolicy(slug, [{ endpoint: 'passthrough', action: 'approve' }], owner.key);
    const held = async (path: string, body: Record<string, unknown>) => {
      const res = await call('POST', `/llm/${slug}${path}`, { key: agent.key, body });
      const text = await res.text();
      expect(res.status, `${path}: ${text}`).toBe(403);
      const answer = JSON.parse(text) as { error: { code: string; details: { approvalId: string } } };
      expect(answer.error.code).toBe('approval_required');
      return answer.error.details.approvalId;
    };
    const approved = await held('/v1/fine_tuning/jobs/ftjob-1/cancel', { reason: 'test' });
    await approve(approved);
    expect(await held('/v1/files/file-payroll/delete', { reason: 'test' })).not.toBe(approved);
    expect(await held('/v1/fine_tuning/jobs/ftjob-1/cancel', { reason: 'other' })).not.toBe(approved);
    expect(await status(approved)).toBe('approved');
  });

  it('an approved multipart upload passes the same form under another boundary, never another form', async () => {
    // The form is forwarded as the gateway re-encodes it, under a boundary of its own each time
    // (llm.form-reencode.ts): the approval binds the form's entries, not the bytes that spelled them.
    const slug = `apr-bind-form-${RUN}`;
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: { provider: 'openai-compatible' },
      },
    });
    expect(created.status).toBe(201);
    await putPolicy(slug, [{ endpoint: 'passthrough', action: 'approve' }], owner.key);
    type Entry = [string, string, string?];
    const form = (b: string, entries: Entry[]) =>
      `${entries
        .map(
          ([name, value, filename]) =>
            `--${b}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"\r\nContent-Type: application/jsonl` : ''}\r\n\r\n${value}\r\n`,
        )
        .join('')}--${b}--\r\n`;
    const send = (b: string, body: string) =>
      call('POST', `/llm/${slug}/v1/files`, {
        key: agent.key,
        rawBody: body,
        headers: { 'Content-Type': `multipart/form-data; boundary=${b}` },
      });
    const held = async (b: string, body: string) => {
      const res = await send(b, body);
      const text = await res.text();
      expect(res.status, text).toBe(403);
      const answer = JSON.parse(text) as { error: { code: string; details: { approvalId: string } } };
      expect(answer.error.code).toBe('approval_required');
      return answer.error.details.approvalId;
    };
    const entries: Entry[] = [
      ['purpose', 'fine-tune'],
      ['file', '{"prompt":"a"}', 'train.jsonl'],
    ];
    const approved = await held('first-boundary', form('first-boundary', entries));
    await approve(approved);
    // Another form — a file's contents, its name, the order, one more field — is another call.
    const others: Entry[][] = [
      [entries[0]!, ['file', '{"prompt":"b"}', 'train.jsonl']],
      [entries[0]!, ['file', '{"prompt":"a"}', 'other.jsonl']],
      [entries[1]!, entries[0]!],
      [...entries, ['purpose', 'batch']],
    ];
    for (const other of others) expect(await held('second', form('second', other))).not.toBe(approved);
    expect(await status(approved)).toBe('approved');
    // The same form as a client would send it again: another boundary, a preamble, an epilogue.
    const again = await send('retry-boundary', `preamble\r\n${form('retry-boundary', entries)}epilogue\r\n`);
    expect(again.status, await again.text()).toBe(200);
    expect(await status(approved)).not.toBe('approved');
  });

  it('a form masked by content inspection is bound as forwarded: the placeholder, not the value', async () => {
    // Governed bodies are bound after the request stages, as forwarded (their placeholders): a
    // masked form is too — its masked entries (formFingerprint of the form re-encoded), so the
    // approver approves what the provider will receive, and no approval holds the value.
    const slug = `apr-bind-mask-${RUN}`;
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: {
          provider: 'openai-compatible',
          inspection: { packs: ['secrets-default', 'llm-compliance-gdpr'] },
        },
      },
    });
    expect(created.status).toBe(201);
    await putPolicy(slug, [{ endpoint: 'passthrough', action: 'approve' }], owner.key);
    const send = async (note: string) => {
      const form = new FormData();
      form.append('purpose', 'fine-tune');
      form.append('note', note);
      const encoded = new Response(form);
      return call('POST', `/llm/${slug}/v1/files?apr=${RUN}`, {
        key: agent.key,
        rawBody: new Uint8Array(await encoded.arrayBuffer()),
        headers: { 'Content-Type': encoded.headers.get('Content-Type')! },
      });
    };
    const held = async (note: string) => {
      const res = await send(note);
      const text = await res.text();
      expect(res.status, text).toBe(403);
      expect(text).not.toContain('@example.com');
      return (JSON.parse(text) as { error: { details: { approvalId: string } } }).error.details.approvalId;
    };
    const approved = await held('write to jane.doe@example.com');
    const shown = await call('GET', `/api/v1/approvals/${approved}`, { key: owner.key });
    expect(await shown.text()).not.toContain('jane.doe@example.com');
    await approve(approved);
    // Another note is another call.
    expect(await held('write to jane.doe@example.com today')).not.toBe(approved);
    // Another address masks to the same placeholder: the same call as forwarded, so it passes once.
    const again = await send('write to john.roe@example.com');
    expect(again.status, await again.text()).toBe(200);
    expect(await status(approved)).not.toBe('approved');
    const seen = (await (await fetch(`${env.LLM_FAKE_URL}/__fake/requests`)).json()) as Array<{
      query?: Record<string, string>;
      forms: { standard: Array<[string, unknown]> } | null;
    }>;
    const mine = seen.filter((r) => r.query?.apr === RUN);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.forms!.standard).toEqual([
      ['purpose', 'fine-tune'],
      ['note', 'write to [EMAIL_1]'],
    ]);
  });
});
