/**
 * Shared by the kill switch tests (killswitch.scopes.test.ts, killswitch.records.test.ts): pulling
 * and lifting a switch through the API, a tools/call through the gateway and the refusal it gets
 * while suspended, and an organization with allow-all connections.
 */
import { call, createConnection, createOrg, expectJson, putPolicy, type TestOrg } from './helpers';

export interface KillSwitch {
  id: string;
  scope: string;
  target: string;
  reason: string | null;
  active: boolean;
  createdBy: string | null;
  liftedAt: string | null;
  liftedBy: string | null;
}

export async function pull(
  org: TestOrg,
  scope: string,
  target: string,
  reason?: string,
): Promise<KillSwitch> {
  const res = await call('POST', '/api/v1/kill-switch', { key: org.key, body: { scope, target, reason } });
  return expectJson<KillSwitch>(res, 201);
}

export async function lift(org: TestOrg, id: string): Promise<KillSwitch> {
  return expectJson<KillSwitch>(await call('DELETE', `/api/v1/kill-switch/${id}`, { key: org.key }), 200);
}

export async function setupOrg(slugs: string[]) {
  const org = await createOrg('owner');
  const connections: Record<string, { id: string }> = {};
  for (const slug of slugs) {
    connections[slug] = await createConnection(slug, { key: org.key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  }
  return { org, connections };
}
