import { describe, expect, it } from 'vitest';
import { a2aMethod, skillOf, taskIdOf, taskStage } from '../gateway/a2a.stages';
import type { StageCall } from '../gateway/gateway.stages';
import {
  type AgentCard,
  agentCardSchema,
  agentEndpointOf,
  canonicalJson,
  cardChanges,
  cardUrlOf,
  rewriteCard,
} from './a2a.card';

const v1 = agentCardSchema.parse({
  name: 'A',
  supportedInterfaces: [
    { url: 'https://agent.example/grpc', protocolBinding: 'GRPC' },
    { url: 'https://agent.example/rpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
  ],
  securitySchemes: { own: { httpAuthSecurityScheme: { scheme: 'Bearer' } } },
  skills: [{ id: 'echo', securityRequirements: [{ schemes: { own: { list: [] } } }] }],
  signatures: [{ protected: 'p', signature: 's' }],
}) as AgentCard;

const v03 = agentCardSchema.parse({
  name: 'B',
  url: 'https://old.example/rpc',
  preferredTransport: 'JSONRPC',
  securitySchemes: { own: { type: 'http', scheme: 'bearer' } },
  security: [{ own: [] }],
  skills: [],
}) as AgentCard;

describe('AgentCard', () => {
  it('finds the JSON-RPC endpoint in v1.0 and v0.3 cards, and refuses a card without one', () => {
    expect(agentEndpointOf(v1)).toBe('https://agent.example/rpc');
    expect(agentEndpointOf(v03)).toBe('https://old.example/rpc');
    expect(
      agentCardSchema.safeParse({ name: 'x', supportedInterfaces: [{ url: 'u', protocolBinding: 'GRPC' }] })
        .success,
    ).toBe(false);
  });

  it('rewrites every interface to the gateway and every scheme to Igris', () => {
    const out = rewriteCard(v1, 'https://gw/v1/a2a/s');
    expect(out.supportedInterfaces).toEqual([
      { url: 'https://gw/v1/a2a/s', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
    ]);
    expect(Object.keys(out.securitySchemes as object)).toEqual(['igris']);
    expect(out.signatures).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain('agent.example');
    const old = rewriteCard(v03, 'https://gw/v1/a2a/s');
    expect(old).toMatchObject({ url: 'https://gw/v1/a2a/s', security: [{ igris: [] }] });
    expect(JSON.stringify(old)).not.toContain('old.example');
  });

  it("adds the Igris OAuth scheme, in each card version's shape, only when asked", () => {
    const oauth = {
      metadataUrl: 'https://gw/.well-known/oauth-authorization-server',
      authorizationUrl: 'https://gw/api/oauth/authorize',
      tokenUrl: 'https://gw/token',
      scope: 'gateway:call',
    };
    const old = rewriteCard(v03, 'https://gw/v1/a2a/s', oauth);
    expect((old.securitySchemes as Record<string, unknown>)['igris-oauth']).toMatchObject({
      type: 'oauth2',
      oauth2MetadataUrl: oauth.metadataUrl,
      flows: { authorizationCode: { authorizationUrl: oauth.authorizationUrl, tokenUrl: oauth.tokenUrl } },
    });
    expect(old.security).toEqual([{ igris: [] }, { 'igris-oauth': ['gateway:call'] }]);
    const v1Out = rewriteCard(v1, 'https://gw/v1/a2a/s', oauth);
    expect(Object.keys(v1Out.securitySchemes as object)).toEqual(['igris', 'igris-oauth']);
    expect(Object.keys(rewriteCard(v1, 'https://gw/v1/a2a/s').securitySchemes as object)).toEqual(['igris']);
  });

  it('names what changed between two cards', () => {
    const next = { ...v1, description: 'd', skills: [{ id: 'new' }] } as AgentCard;
    expect(cardChanges(v1, next)).toEqual({
      fields: ['description'],
      skillsAdded: ['new'],
      skillsRemoved: ['echo'],
      skillsChanged: [],
      endpoint: null,
    });
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });

  it('derives the card URL of an agent base URL', () => {
    expect(cardUrlOf('https://a.example/agents/x/')).toBe(
      'https://a.example/agents/x/.well-known/agent-card.json',
    );
    expect(cardUrlOf('https://a.example/card.json')).toBe('https://a.example/card.json');
  });
});

describe('A2A request reading and the task stage', () => {
  it('reads the skill and the task from params', () => {
    expect(skillOf({ metadata: { skillId: 'a' }, message: { metadata: { skillId: 'b' } } })).toBe('a');
    expect(skillOf({ message: { metadata: { skillId: 'b' } } })).toBe('b');
    expect(skillOf({ message: {} })).toBeNull();
    expect(taskIdOf({ id: 't1' })).toBe('t1');
    expect(taskIdOf({ message: { taskId: 't2' } })).toBe('t2');
    // v1.0 push-notification config requests: `id` names the config, `taskId` the task.
    expect(taskIdOf({ taskId: 't3', id: 'cfg-1' })).toBe('t3');
  });

  it('forwards every A2A JSON-RPC method in v1.0 and v0.3 spellings, and nothing else', () => {
    const spellings: Record<string, string> = {
      'message/send': 'SendMessage',
      'message/stream': 'SendStreamingMessage',
      'tasks/get': 'GetTask',
      'tasks/list': 'ListTasks',
      'tasks/cancel': 'CancelTask',
      'tasks/resubscribe': 'SubscribeToTask',
      'tasks/pushNotificationConfig/set': 'CreateTaskPushNotificationConfig',
      'tasks/pushNotificationConfig/get': 'GetTaskPushNotificationConfig',
      'tasks/pushNotificationConfig/list': 'ListTaskPushNotificationConfigs',
      'tasks/pushNotificationConfig/delete': 'DeleteTaskPushNotificationConfig',
    };
    for (const [v03, v1] of Object.entries(spellings)) {
      expect(a2aMethod(v03)).toBe(v1);
      expect(a2aMethod(v1)).toBe(v1);
    }
    for (const refused of ['GetExtendedAgentCard', 'agent/getAuthenticatedExtendedCard', 'toString', '']) {
      expect(a2aMethod(refused)).toBeNull();
    }
  });

  it('records each new task state once, in v1.0 and v0.3 shapes', () => {
    const call = { findings: [] } as unknown as StageCall;
    const stage = taskStage(call);
    const status = (state: string) => ({
      jsonrpc: '2.0',
      id: 1,
      result: { statusUpdate: { taskId: 't', status: { state } } },
    });
    stage.onMessage({
      jsonrpc: '2.0',
      id: 1,
      result: { task: { id: 't', status: { state: 'TASK_STATE_SUBMITTED' } } },
    });
    stage.onMessage(status('TASK_STATE_WORKING'));
    stage.onMessage(status('TASK_STATE_WORKING'));
    stage.onMessage({
      jsonrpc: '2.0',
      id: 1,
      result: { kind: 'task', id: 't', status: { state: 'input-required' } },
    });
    expect(call.findings.map((f) => f.detail?.state)).toEqual(['submitted', 'working', 'input-required']);
  });
});
