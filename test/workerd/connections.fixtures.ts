/**
 * The shared set-up of the connections API tests (connections.create.test.ts,
 * connections.manage.test.ts, connections.access.test.ts): the connection DTO shape, the owning
 * organization (a fresh one per file, so slugs never collide across files running in parallel), and
 * the create/read helpers every file uses.
 */
import { env } from 'cloudflare:workers';
import { call, createOrg, expectApiError, type TestOrg } from './helpers';

export interface ConnectionDto {
  id: string;
  slug: string;
  name: string;
  type: string;
  upstreamUrl: string;
  authType: string;
  authHeaderName: string | null;
  hasCredential: boolean;
  enabled: boolean;
  settings: Record<string, unknown>;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  gatewayUrl: string;
}

export const upstream = (path = '/stateless') => `${env.UPSTREAM_URL}${path}`;

// Live binding: set by setUpConnections, read by the test files after their beforeAll.
export let owner: TestOrg;

export function createBody(slug: string, extra: Record<string, unknown> = {}) {
  return { slug, name: `Connection ${slug}`, upstreamUrl: upstream(), credential: `cred-${slug}`, ...extra };
}

export async function create(slug: string, extra: Record<string, unknown> = {}, key = owner.key) {
  return call('POST', '/api/v1/connections', { key, body: createBody(slug, extra) });
}

export async function connectionRow(orgId: string, slug: string) {
  return env.DB.prepare('SELECT * FROM connections WHERE org_id = ? AND slug = ?')
    .bind(orgId, slug)
    .first<Record<string, unknown>>();
}

export async function issues(res: Response) {
  const err = await expectApiError(res, 400, 'validation_failed');
  return err.details!.issues!;
}

/** Creates the owning organization the connections API tests use (each file's beforeAll). */
export async function setUpConnections(): Promise<void> {
  owner = await createOrg('owner');
}
