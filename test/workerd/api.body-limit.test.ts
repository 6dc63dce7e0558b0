/**
 * The management API's byte cap (workers/api/api.body-limit.ts) and its bounded error listings
 * (workers/lib/issues.list.ts), inside workerd: a body over its route's cap is refused 413 before
 * it is parsed — declared or chunked — and changes nothing; the largest valid policy still saves;
 * a validation failure answers with a bounded list whatever the input held.
 */
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_BODY_BYTES,
  DEFAULT_API_BODY_BYTES,
  DETECTION_SCAN_BODY_BYTES,
  POLICY_BODY_BYTES,
} from '../../workers/api/api.body-caps';
import { MAX_LISTED_ISSUES, MAX_LISTED_KEYS } from '../../workers/lib/issues.list';
import { MAX_RULES } from '../../workers/policy/policy.schema';
import { MAX_STORED_POLICY_BYTES } from '../../workers/policy/policy.service';
import {
  BASE,
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  putPolicy,
  type TestOrg,
} from './helpers';

let owner: TestOrg;

beforeAll(async () => {
  owner = await createOrg('owner');
});

const encoder = new TextEncoder();

/** `json` followed by spaces up to `size` bytes: valid JSON the old code parsed and acted on. */
function padded(json: string, size: number): string {
  return json + ' '.repeat(size - encoder.encode(json).byteLength);
}

/** The same bytes as a stream without a Content-Length (chunked), 64 KiB at a time. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 65_536));
      offset += 65_536;
    },
  });
}

function send(method: string, path: string, body: string | ReadableStream<Uint8Array>) {
  const headers = new Headers({ Authorization: `Bearer ${owner.key}`, 'Content-Type': 'application/json' });
  return exports.default.fetch(
    new Request(`${BASE}${path}`, {
      method,
      headers,
      body,
      ...(typeof body === 'string' ? {} : { duplex: 'half' }),
    } as RequestInit),
  );
}

async function connectionCount(orgId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM connections WHERE org_id = ?')
    .bind(orgId)
    .first<{ n: number }>();
  return row!.n;
}

function connectionJson(slug: string): string {
  return JSON.stringify({
    slug,
    name: slug,
    upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
    credential: `cred-${slug}`,
  });
}

describe('the management API body cap', () => {
  it('refuses a body one byte over the default cap with 413, declared length, and creates nothing', async () => {
    const before = await connectionCount(owner.orgId);
    const res = await send(
      'POST',
      '/api/v1/connections',
      padded(connectionJson('cap-declared'), DEFAULT_API_BODY_BYTES + 1),
    );
    const error = await expectApiError(res, 413, 'payload_too_large');
    expect(error.details).toEqual({ location: 'body', maxBytes: DEFAULT_API_BODY_BYTES });
    expect(error.message).toContain(String(DEFAULT_API_BODY_BYTES));
    expect(await connectionCount(owner.orgId)).toBe(before);
  });

  it('refuses the same body chunked (no Content-Length) with 413, and creates nothing', async () => {
    const before = await connectionCount(owner.orgId);
    const body = chunked(padded(connectionJson('cap-chunked'), DEFAULT_API_BODY_BYTES + 1));
    const res = await send('POST', '/api/v1/connections', body);
    const error = await expectApiError(res, 413, 'payload_too_large');
    expect(error.details).toEqual({ location: 'body', maxBytes: DEFAULT_API_BODY_BYTES });
    expect(await connectionCount(owner.orgId)).toBe(before);
  });

  it('accepts a body exactly at the cap, declared or chunked (the cap counts bytes, not more)', async () => {
    const declared = await send(
      'POST',
      '/api/v1/connections',
      padded(connectionJson('cap-at-limit'), DEFAULT_API_BODY_BYTES),
    );
    await expectJson(declared, 201);
    const streamed = await send(
      'POST',
      '/api/v1/connections',
      chunked(padded(connectionJson('cap-at-limit-chunked'), DEFAULT_API_BODY_BYTES)),
    );
    await expectJson(streamed, 201);
  });

  it('refuses a policy over the policy cap (declared and chunked) and keeps the current version', async () => {
    const { slug } = await createConnection('cap-policy', { key: owner.key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
    const doc = JSON.stringify({ rules: [{ tool: '*', action: 'deny' }] });
    for (const body of [padded(doc, POLICY_BODY_BYTES + 1), chunked(padded(doc, POLICY_BODY_BYTES + 1))]) {
      const res = await send('PUT', `/api/v1/connections/${slug}/policy`, body);
      const error = await expectApiError(res, 413, 'payload_too_large');
      expect(error.details).toEqual({ location: 'body', maxBytes: POLICY_BODY_BYTES });
    }
    const current = await expectJson<{ version: number; rules: unknown[] }>(
      await call('GET', `/api/v1/connections/${slug}/policy`, { key: owner.key }),
      200,
    );
    expect(current).toMatchObject({ version: 1, rules: [{ tool: '*', action: 'allow' }] });
  });

  /** MAX_RULES rules of `toolChars`-long tool globs: 1,980,001 bytes compact at 64, 2,040,001 at 70. */
  function bigPolicy(toolChars: number) {
    const rule = {
      tool: 't'.repeat(toolChars),
      action: 'deny',
      conditions: { 'metadata.role': { in: ['admin', 'ops'] } },
      reason: 'r'.repeat(40),
    };
    return Array.from({ length: MAX_RULES }, () => rule);
  }

  it('saves a maximal valid policy (MAX_RULES rules, just under what a row stores) sent indented', async () => {
    const { slug } = await createConnection('cap-policy-max', { key: owner.key });
    const rules = bigPolicy(64);
    const compact = encoder.encode(JSON.stringify(rules)).byteLength;
    expect(compact).toBeLessThanOrEqual(MAX_STORED_POLICY_BYTES);
    expect(compact).toBeGreaterThan(MAX_STORED_POLICY_BYTES - 20_000);
    const body = JSON.stringify({ rules }, null, 4);
    expect(encoder.encode(body).byteLength).toBeGreaterThan(3 * DEFAULT_API_BODY_BYTES);
    expect(encoder.encode(body).byteLength).toBeLessThan(POLICY_BODY_BYTES);
    const saved = await expectJson<{ version: number; rules: unknown[] }>(
      await send('PUT', `/api/v1/connections/${slug}/policy`, body),
      200,
    );
    expect(saved.version).toBe(1);
    expect(saved.rules).toHaveLength(MAX_RULES);
  }, 120_000);

  it('refuses a valid policy too large to store with a typed 413 (not a 500), and keeps the current version', async () => {
    const { slug } = await createConnection('cap-policy-unstorable', { key: owner.key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
    const res = await send(
      'PUT',
      `/api/v1/connections/${slug}/policy`,
      JSON.stringify({ rules: bigPolicy(70) }),
    );
    const error = await expectApiError(res, 413, 'payload_too_large');
    expect(error.details).toEqual({ location: 'body', path: 'rules', maxBytes: MAX_STORED_POLICY_BYTES });
    const current = await expectJson<{ version: number }>(
      await call('GET', `/api/v1/connections/${slug}/policy`, { key: owner.key }),
      200,
    );
    expect(current.version).toBe(1);
  }, 120_000);

  it('gives the detections scan its larger cap: 1 MiB of text escaped six bytes a character passes', async () => {
    const text = '\u0001'.repeat(1024 * 1024);
    const body = JSON.stringify({ text });
    expect(encoder.encode(body).byteLength).toBeGreaterThan(6 * 1024 * 1024);
    const res = await send('POST', '/api/v1/detections/scan', body);
    await expectJson(res, 200);
    const over = await send('POST', '/api/v1/detections/scan', padded(body, DETECTION_SCAN_BODY_BYTES + 1));
    await expectApiError(over, 413, 'payload_too_large');
  }, 60_000);

  it('refuses an anonymous caller before reading its body (401, not 413)', async () => {
    const res = await exports.default.fetch(
      new Request(`${BASE}/api/v1/connections`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: padded('{}', DEFAULT_API_BODY_BYTES + 1),
      }),
    );
    await expectApiError(res, 401, 'unauthorized');
  });
});

describe('the people API body cap (/api/auth/*, open to anonymous callers)', () => {
  async function signUp(body: string | ReadableStream<Uint8Array>) {
    return exports.default.fetch(
      new Request(`${BASE}/api/auth/sign-up`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: BASE, 'CF-Connecting-IP': '203.0.113.77' },
        body,
        ...(typeof body === 'string' ? {} : { duplex: 'half' }),
      } as RequestInit),
    );
  }
  async function userCount(email: string): Promise<number> {
    const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM users WHERE email = ?')
      .bind(email)
      .first<{ n: number }>();
    return row!.n;
  }
  const signUpJson = (email: string) =>
    JSON.stringify({ email, password: 'correct horse battery staple 42', name: 'Cap' });

  it('refuses an anonymous sign-up one byte over AUTH_BODY_BYTES (declared or chunked) with 413, and creates no user', async () => {
    for (const chunk of [false, true]) {
      const email = `cap-${chunk}-${Date.now().toString(36)}@example.com`;
      const text = padded(signUpJson(email), AUTH_BODY_BYTES + 1);
      const res = await signUp(chunk ? chunked(text) : text);
      const error = await expectApiError(res, 413, 'payload_too_large');
      expect(error.details).toMatchObject({ location: 'body', maxBytes: AUTH_BODY_BYTES });
      expect(await userCount(email)).toBe(0);
    }
  });

  it('still signs up with a body exactly at the cap', async () => {
    const email = `cap-at-${Date.now().toString(36)}@example.com`;
    const res = await signUp(padded(signUpJson(email), AUTH_BODY_BYTES));
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await userCount(email)).toBe(1);
  });
});

describe('bounded validation listings', () => {
  it('a strict object sent thousands of long unknown keys answers with a short, counted list', async () => {
    const body: Record<string, unknown> = JSON.parse(connectionJson('cap-keys'));
    for (let i = 0; i < 5000; i++) body[`unknown_${i}_${'k'.repeat(100)}`] = i;
    const res = await call('POST', '/api/v1/connections', { key: owner.key, body });
    const text = await res.clone().text();
    const error = await expectApiError(res, 400, 'validation_failed');
    const issues = error.details!.issues!;
    expect(issues.length).toBeLessThanOrEqual(MAX_LISTED_ISSUES);
    const unknown = issues.find((i) => i.message.startsWith('Unrecognized keys'))!;
    expect(unknown.message).toContain(`and ${5000 - MAX_LISTED_KEYS} more`);
    expect(unknown.message).not.toContain(`unknown_${MAX_LISTED_KEYS}_`);
    expect(text.length).toBeLessThan(8 * 1024);
  });

  it('a policy of thousands of bad rules lists MAX_LISTED_ISSUES issues and their count, and saves nothing', async () => {
    const { slug } = await createConnection('cap-policy-issues', { key: owner.key });
    const rules = Array.from({ length: 3000 }, () => ({ tool: 'x', action: 'nope' }));
    const res = await call('PUT', `/api/v1/connections/${slug}/policy`, { key: owner.key, body: { rules } });
    const error = await expectApiError(res, 400, 'validation_failed');
    expect(error.details!.issues).toHaveLength(MAX_LISTED_ISSUES);
    expect(error.details!.issueCount).toBe(3000);
    const row = await env.DB.prepare(
      'SELECT COUNT(*) AS n FROM policies p JOIN connections c ON c.id = p.connection_id WHERE c.slug = ? AND c.org_id = ?',
    )
      .bind(slug, owner.orgId)
      .first<{ n: number }>();
    expect(row!.n).toBe(0);
  });

  it('a policy rule with thousands of unknown keys names the first MAX_LISTED_KEYS and counts the rest', async () => {
    const { slug } = await createConnection('cap-policy-keys', { key: owner.key });
    const rule: Record<string, unknown> = { tool: 'x', action: 'deny' };
    for (let i = 0; i < 3000; i++) rule[`junk_${i}`] = i;
    const res = await call('PUT', `/api/v1/connections/${slug}/policy`, {
      key: owner.key,
      body: { rules: [rule] },
    });
    const error = await expectApiError(res, 400, 'validation_failed');
    const issues = error.details!.issues!;
    expect(issues.length).toBeLessThanOrEqual(MAX_LISTED_ISSUES);
    expect(JSON.stringify(issues)).not.toContain('junk_2999');
    expect(JSON.stringify(error.details)).toMatch(/more unknown fields|"issueCount"/);
  });
});

describe('the OpenAPI documents name each body cap', () => {
  type Doc = {
    paths: Record<
      string,
      Record<string, { requestBody?: unknown; responses: Record<string, { description: string }> }>
    >;
  };
  const documented = async (path: string) => expectJson<Doc>(await call('GET', path, { key: null }), 200);

  it('every management operation with a body documents 413 with its route’s cap; one without a body does not', async () => {
    const doc = await documented('/api/v1/openapi.json');
    const policy = doc.paths['/connections/{slug}/policy']!;
    expect(policy.put!.responses['413']!.description).toContain(`${POLICY_BODY_BYTES} bytes`);
    expect(policy.get!.responses['413']).toBeUndefined();
    expect(doc.paths['/connections']!.post!.responses['413']!.description).toContain(
      `${DEFAULT_API_BODY_BYTES} bytes`,
    );
    expect(doc.paths['/detections/scan']!.post!.responses['413']!.description).toContain(
      `${DETECTION_SCAN_BODY_BYTES} bytes`,
    );
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item))
        expect(op.responses['413'] !== undefined, `${method} ${path}`).toBe(op.requestBody !== undefined);
  });

  it('the people API documents its 64 KiB cap', async () => {
    const doc = await documented('/api/auth/openapi.json');
    const withBody = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).filter((op) => op.requestBody),
    );
    expect(withBody.length).toBeGreaterThan(0);
    for (const op of withBody) expect(op.responses['413']!.description).toContain(`${AUTH_BODY_BYTES} bytes`);
  });
});
