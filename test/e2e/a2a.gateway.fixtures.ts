/**
 * The shared set-up of the A2A gateway e2e tests (a2a.gateway.card.e2e.test.ts,
 * a2a.gateway.client.e2e.test.ts): a real agent built with the official `@a2a-js/sdk` server
 * (a2a.agent.ts) registered by its card URL under a per-file slug, the SDK's own client pointed at
 * the gateway's rewritten card, and the audit, policy and second-organization helpers.
 */
import { randomBytes } from 'node:crypto';
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { expect } from 'vitest';
import { startTestAgent, type TestAgent } from './a2a.agent.ts';
import { adminKey, api, gatewayUrl } from './helpers';

export const RUN = randomBytes(4).toString('hex');
export const SLUG = `a2a-${RUN}`;
export const AGENT_CREDENTIAL = `agent-secret-${RUN}`;
export const POLICY = [
  { tool: 'echo', action: 'allow' },
  { tool: 'slow', action: 'allow' },
  { tool: 'GetTask', action: 'allow' },
  { tool: 'CancelTask', action: 'allow' },
];

// Live bindings: set by setUpA2aGateway, read by the test files after their beforeAll.
export let agent: TestAgent;
export let client: Client;

export interface AuditRow {
  id: string;
  type: string;
  action: string;
  method: string | null;
  tool: string | null;
  errorCode: string | null;
  upstreamStatus: number | null;
  details: { findings?: { stage: string; detail: { taskId: string; state: string } }[] } & Record<
    string,
    unknown
  >;
}

/** fetch with the caller's Igris key, as an A2A client configured for the gateway's card sends it. */
export function keyedFetch(key: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${key}`);
    return fetch(input, { ...init, headers });
  };
}

export async function gatewayClient(key = adminKey()): Promise<Client> {
  const fetchImpl = keyedFetch(key);
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  // The trailing slash matters: the SDK resolves `.well-known/agent-card.json` against this URL.
  return factory.createFromUrl(`${gatewayUrl()}/v1/a2a/${SLUG}/`);
}

export async function setPolicy(rules: unknown[]) {
  const res = await api('PUT', `/connections/${SLUG}/policy`, { rules });
  if (res.status !== 200) throw new Error(`policy: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Starts the test agent, registers it by its card URL with its credential and the policy, and makes the SDK client (each file's beforeAll). */
export async function setUpA2aGateway(): Promise<void> {
  agent = await startTestAgent(AGENT_CREDENTIAL);
  const created = await api<{ gatewayUrl: string; upstreamUrl: string; type: string }>(
    'POST',
    '/connections',
    {
      slug: SLUG,
      name: 'Test agent',
      type: 'a2a',
      agentCardUrl: agent.url,
      credential: AGENT_CREDENTIAL,
    },
  );
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  expect(created.body).toMatchObject({
    type: 'a2a',
    gatewayUrl: `${gatewayUrl()}/v1/a2a/${SLUG}`,
    upstreamUrl: `${agent.url}/a2a`,
  });
  await setPolicy(POLICY);
  client = await gatewayClient();
}
