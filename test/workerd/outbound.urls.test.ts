/**
 * One URL rule for every request the gateway makes on a tenant's say-so (docs/security-model.md#upstream-urls-ssrf):
 * with the production setting (ALLOW_PRIVATE_UPSTREAMS off), each place a tenant names a URL — a
 * connection's upstream, an A2A agent card, a scan, a Langfuse host, an OTLP endpoint, a
 * notification channel, an upstream OAuth issuer, a trusted XAA issuer — refuses the same
 * loopback, private, link-local, metadata, non-https and credential-bearing URLs, in every
 * spelling, and no refusal echoes the password in the URL.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveCard } from '../../workers/a2a/a2a.registry';
import type { Principal } from '../../workers/app.types';
import { createConnectionSchema } from '../../workers/connections/connections.schemas';
import { createConnection } from '../../workers/connections/connections.service';
import { putLangfuse } from '../../workers/langfuse/langfuse.settings';
import { AppError } from '../../workers/lib/errors';
import { createChannel } from '../../workers/notify/notify.channels';
import { channelCreateSchema } from '../../workers/notify/notify.schemas';
import { upstreamClient } from '../../workers/oauth/upstream.client';
import { issuerUrlProblem } from '../../workers/oauth/xaa.store';
import { createScan } from '../../workers/scans/scans.service';
import { tracingPutSchema } from '../../workers/tracing/tracing.schemas';
import { putTracing } from '../../workers/tracing/tracing.settings';
import { createOrg, type TestOrg } from './helpers';

const production = { ...env, ALLOW_PRIVATE_UPSTREAMS: 'false' } as Env;

const REFUSED = [
  'https://127.0.0.1/x',
  'https://[::1]/x',
  'https://[::ffff:127.0.0.1]/x',
  'https://169.254.169.254/latest',
  'https://0.0.0.0/x',
  'https://2130706433/x',
  'https://0177.0.0.1/x',
  'https://0x7f.1/x',
  'https://10.0.0.1/x',
  'https://[fd12:3456::1]/x',
  'https://[fe80::1]/x',
  'https://localhost./x',
  'https://metadata.google.internal/x',
  'http://public.example.com/x',
  'file:///etc/passwd',
  'https://user:hunter2-secret@public.example.com/x',
];

let org: TestOrg;
let principal: Principal;
let n = 0;

beforeAll(async () => {
  org = await createOrg('owner');
  principal = {
    kind: 'api_key',
    orgId: org.orgId,
    role: 'owner',
    userId: org.userId,
    apiKeyId: null,
    sessionId: null,
    actor: `user:${org.userId}`,
  } as Principal;
});

/** Every place a tenant names a URL the gateway will request. Each resolves to the refusal (or null). */
const places: Array<[string, (url: string) => Promise<unknown>]> = [
  [
    'connection upstream',
    (url) =>
      createConnection(
        production,
        principal,
        createConnectionSchema.parse({ slug: `ssrf-${++n}`, name: 'x', upstreamUrl: url, authType: 'none' }),
        'https://gateway.test',
      ),
  ],
  ['A2A agent card', (url) => resolveCard(production, { agentCardUrl: url })],
  ['scan', (url) => createScan(production, principal, { url } as never)],
  [
    'Langfuse host',
    (url) =>
      putLangfuse(production, principal, { host: url, publicKey: 'pk', secretKey: 'sk', enabled: true }),
  ],
  [
    'OTLP endpoint',
    (url) =>
      putTracing(
        production,
        principal,
        tracingPutSchema.parse({
          endpoint: url,
          sampleRate: 1,
          enabled: true,
          protocol: 'http/json',
        }),
      ),
  ],
  [
    'notification channel',
    (url) =>
      createChannel(
        production,
        principal,
        channelCreateSchema.parse({
          type: 'webhook',
          name: 'x',
          url,
          secret: 'whsec-0123456789abcdef',
          minSeverity: 'info',
          enabled: true,
        }),
      ),
  ],
  [
    'upstream OAuth issuer',
    (url) => upstreamClient(production, { issuer: url, clientId: 'c', scopes: [] }, null),
  ],
  [
    'XAA issuer',
    async (url) => {
      const problem = issuerUrlProblem(production, { issuer: url, jwksUri: url } as never);
      if (problem) throw new Error(`refused (rule: ${problem.rule})`);
      return problem;
    },
  ],
];

describe('outbound URLs with the production setting', () => {
  it.each(places)(
    '%s: every private, loopback, metadata, non-https or credential URL is refused',
    async (_place, name) => {
      for (const url of REFUSED) {
        const outcome = await name(url).then(
          () => 'accepted',
          (err: unknown) => err,
        );
        expect(outcome, url).not.toBe('accepted');
        // A refusal by the URL rule, not some other failure: a typed validation error naming the
        // rule, or (upstream OAuth, resolved at use) the upstream named unusable by its rule.
        const refusal =
          outcome instanceof AppError ? JSON.stringify([outcome.message, outcome.details]) : String(outcome);
        expect(outcome instanceof AppError ? outcome.code : 'refused', url).toMatch(
          /^(validation_failed|upstream_unreachable|refused)$/,
        );
        expect(refusal, url).toMatch(/rule/);
        const text = JSON.stringify({
          message: (outcome as Error).message,
          details: (outcome as { details?: unknown }).details,
        });
        expect(text, url).not.toContain('hunter2-secret');
      }
    },
  );

  // The control: the same calls accept a public https URL where saving makes no request.
  it.each(places.filter(([place]) => !['A2A agent card', 'scan', 'upstream OAuth issuer'].includes(place)))(
    '%s: a public https URL is accepted',
    async (_place, name) => {
      await expect(name('https://public.example.com/x')).resolves.not.toBe('accepted');
      expect(await name('https://public.example.com/y').then(() => 'accepted')).toBe('accepted');
    },
  );
});
