/**
 * The shared set-up of the gateway-mode OAuth tests (oauth.gateway.authorize.test.ts,
 * oauth.gateway.tokens.test.ts): an owner (fresh per file) signed in to the dashboard, two
 * connections with random slugs, and the JSON-RPC error shape.
 */
import { randomId } from '../../workers/lib/ids';
import { createConnection, createOrg, putPolicy, type TestOrg } from './helpers';
import { sessionCookie } from './oauth.helpers';

export type RpcError = { error: { code: number; message: string; data: { code: string } } };

// Live bindings: set by setUpOAuthGateway, read by the test files after their beforeAll.
export let owner: TestOrg;
export let cookie: string;
export let slugA: string;
export let slugB: string;
export let connA: string;

/** An owner with a dashboard session and two allow-all connections with unique slugs (each file's beforeAll). */
export async function setUpOAuthGateway(): Promise<void> {
  owner = await createOrg('owner');
  cookie = await sessionCookie(owner.userId, owner.orgId);
  slugA = `oa-${randomId('a').slice(-8).toLowerCase()}`;
  slugB = `ob-${randomId('b').slice(-8).toLowerCase()}`;
  connA = (await createConnection(slugA, { key: owner.key })).id;
  await createConnection(slugB, { key: owner.key });
  await putPolicy(slugA, [{ tool: '*', action: 'allow' }], owner.key);
  await putPolicy(slugB, [{ tool: '*', action: 'allow' }], owner.key);
}
