/**
 * A real A2A agent for the end-to-end tests, built with the official `@a2a-js/sdk` server
 * (DefaultRequestHandler + the express JSON-RPC transport) on 127.0.0.1. It requires a bearer
 * credential (so the tests see the gateway inject the stored one) and records every request's
 * headers and body (so they can assert that the caller's `ig_` key never arrives).
 *
 * Skills: `echo` answers at once (a task: submitted → working → artifact → completed; a text that
 * starts with `leak` is answered with an email address and an AWS key id; a message with a data part
 * is answered with a data part echoing it, beside an email address of its own); `slow`
 * keeps a task working, one status update every 100 ms, until it is canceled or 10 minutes pass
 * (a stream open long enough to be killed mid-way); `admin.reset` exists to be denied by policy.
 * Memory per context, as a conversational agent keeps it: every text received is remembered under
 * its context id, and an `echo` text that starts with `recall` is answered with the context's earlier
 * texts (what a caller who learned another's context id would read). `GET /__control/contexts/<id>`
 * returns the texts a context received, so tests can tell whether a message reached the agent.
 * Push notifications are on (the SDK's in-memory config store), so the push-notification config
 * methods forwarded through the gateway get real answers; nothing in the tests registers a reachable
 * webhook.
 */
import { createServer } from 'node:http';
import { AgentCard, type Message } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';
import { keepIdleConnections, listen } from '../shared/local.server';

export interface RecordedAgentRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface TestAgent {
  /** Base URL: the card is at `<url>/.well-known/agent-card.json`, JSON-RPC at `<url>/a2a`. */
  url: string;
  requests: RecordedAgentRequest[];
  /** Task ids whose execution was canceled (by tasks/cancel or by the caller going away). */
  canceled: Set<string>;
  /** Renames the agent's description (a card change for the refresh test). */
  setDescription(text: string): void;
  close(): Promise<void>;
}

export const AGENT_REPLY = 'echo: ';
/** What the agent answers to a message starting with `leak`. */
export const LEAKED = 'write to leaked.person@example.com with key AKIAZ7Q4RXW2LM5PT3NB';
/** The contact the agent adds to its answer to a data part. */
export const LEAKED_CONTACT = 'leaked.person@example.com';

const TASK_STATE = { SUBMITTED: 1, WORKING: 2, COMPLETED: 3, CANCELED: 5 } as const;

function agentMessage(taskId: string, contextId: string, text: string): Message {
  return {
    messageId: crypto.randomUUID(),
    contextId,
    taskId,
    role: 2,
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  } as unknown as Message;
}

/** The first data part of a message (its JSON object), or null. */
function dataOf(message: Message): Record<string, unknown> | null {
  const part = message.parts.find((p) => p.content?.$case === 'data');
  return part?.content?.$case === 'data' ? (part.content.value as Record<string, unknown>) : null;
}

function textOf(message: Message): string {
  return message.parts
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('')
    .trim();
}

class TestExecutor implements AgentExecutor {
  readonly canceled: Set<string>;
  /** The texts each context received, in order (the agent's conversation memory). */
  readonly memory = new Map<string, string[]>();
  constructor(canceled: Set<string>) {
    this.canceled = canceled;
  }

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = ctx;
    const text = textOf(ctx.userMessage);
    const earlier = this.memory.get(contextId) ?? [];
    this.memory.set(contextId, [...earlier, text]);
    const status = (state: number, message?: Message) =>
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: { state, message, timestamp: new Date().toISOString() },
        metadata: undefined,
      } as never);
    bus.publish(
      AgentEvent.task({
        id: taskId,
        contextId,
        status: { state: TASK_STATE.SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
        artifacts: [],
        history: [ctx.userMessage],
        metadata: undefined,
      } as never),
    );
    bus.publish(status(TASK_STATE.WORKING));
    if (text.startsWith('slow')) {
      const until = Date.now() + 600_000;
      while (!this.canceled.has(taskId) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (!this.canceled.has(taskId)) bus.publish(status(TASK_STATE.WORKING));
      }
      bus.publish(status(TASK_STATE.CANCELED));
      bus.finished();
      return;
    }
    // `leak …`: the answer carries an email address and an AWS key id the caller never sent (for
    // the response side of content inspection).
    const reply = text.startsWith('leak')
      ? `${AGENT_REPLY}${LEAKED}`
      : text.startsWith('recall')
        ? `${AGENT_REPLY}earlier in this context: ${JSON.stringify(earlier)}`
        : `${AGENT_REPLY}${text}`;
    // A data part: answered with a data part echoing what arrived, beside a contact of the agent's
    // own (data parts are inspected both ways).
    const data = dataOf(ctx.userMessage);
    const parts = data
      ? [
          {
            content: { $case: 'data', value: { received: data, leaked: { contact: LEAKED_CONTACT } } },
            metadata: undefined,
            filename: '',
            mediaType: 'application/json',
          },
        ]
      : agentMessage(taskId, contextId, reply).parts;
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId,
        contextId,
        artifact: {
          artifactId: `art-${taskId}`,
          name: 'answer',
          description: '',
          parts,
          metadata: undefined,
          extensions: [],
        },
        append: false,
        lastChunk: true,
        metadata: undefined,
      } as never),
    );
    bus.publish(status(TASK_STATE.COMPLETED, agentMessage(taskId, contextId, reply)));
    bus.finished();
  }

  async cancelTask(taskId: string, _bus: ExecutionEventBus): Promise<void> {
    this.canceled.add(taskId);
  }
}

function card(url: string, description: string): AgentCard {
  return {
    name: 'Igris test agent',
    description,
    supportedInterfaces: [
      { url: `${url}/a2a`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
    ],
    provider: { organization: 'Igris tests', url: 'https://example.com' },
    version: '1.0.0',
    capabilities: { streaming: true, pushNotifications: true, extensions: [], extendedAgentCard: false },
    securitySchemes: {
      agentBearer: {
        scheme: {
          $case: 'httpAuthSecurityScheme',
          value: { description: 'agent key', scheme: 'Bearer', bearerFormat: '' },
        },
      },
    },
    securityRequirements: [{ schemes: { agentBearer: { list: [] } } }],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'echo',
        name: 'Echo',
        description: 'Echoes',
        tags: [],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
      {
        id: 'slow',
        name: 'Slow',
        description: 'Works until canceled',
        tags: [],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
      {
        id: 'admin.reset',
        name: 'Reset',
        description: 'Dangerous',
        tags: [],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
    iconUrl: undefined,
  } as unknown as AgentCard;
}

/** Starts the agent; `credential` is the bearer token it requires on JSON-RPC calls. */
export async function startTestAgent(credential: string): Promise<TestAgent> {
  const requests: RecordedAgentRequest[] = [];
  const canceled = new Set<string>();
  let description = 'An agent for the Igris Edge e2e tests';
  const app = express();
  app.use((req, _res, next) => {
    // Path and headers now: express rewrites req.url for mounted routers before the body ends.
    const recorded: RecordedAgentRequest = { path: req.path, headers: { ...req.headers }, body: '' };
    requests.push(recorded);
    req.on('data', (chunk: Buffer) => {
      recorded.body += chunk.toString('utf8');
    });
    next();
  });
  const executor = new TestExecutor(canceled);
  // What app.listen does (a node:http server with the app as its handler), started the one way.
  const { url, close } = await listen(keepIdleConnections(createServer(app)));
  const handler = new DefaultRequestHandler(card(url, description), new InMemoryTaskStore(), executor);
  app.get(
    '/.well-known/agent-card.json',
    // The card as JSON (AgentCard.toJSON: the wire shape), as a published agent serves it.
    (_req, res) => {
      res.json(AgentCard.toJSON(card(url, description)));
    },
  );
  // A card URL that redirects to the card: the gateway must not follow it (SSRF: a public URL
  // could redirect to an internal one).
  app.get('/moved/agent-card.json', (_req, res) => {
    res.redirect(302, '/.well-known/agent-card.json');
  });
  // Test control (no credential: the agent listens on 127.0.0.1 only): a card change for the
  // scheduled refresh test in workerd, which cannot call setDescription.
  app.post('/__control/description', express.text(), (req, res) => {
    description = String(req.body);
    res.status(204).end();
  });
  app.get('/__control/contexts/:id', (req, res) => {
    res.json({ texts: executor.memory.get(req.params.id) ?? [] });
  });
  app.use('/a2a', (req, res, next) => {
    if (req.headers.authorization !== `Bearer ${credential}`) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    next();
  });
  app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return {
    url,
    requests,
    canceled,
    setDescription(text) {
      description = text;
    },
    close,
  };
}
