/**
 * A real local upstream that answers with errors (test/e2e/inspection.errors.e2e.test.ts): one HTTP
 * server that speaks enough of each protocol to be called through the gateway by the official SDKs,
 * and answers the call itself with a 4xx/5xx whose body the test chose.
 *
 *   MCP   POST …/mcp: `initialize` answered (JSON), notifications 202, any other request an error.
 *   LLM   any other POST or GET (…/v1/chat/completions, …/v1/messages, …/v1/messages/batches): an error.
 *   A2A   GET …/.well-known/agent-card.json: a card whose JSON-RPC endpoint is …/a2a; POST …/a2a: an error.
 *
 * The scenario is named in what the caller sends — `scenario-<name>` in the prompt, the tool
 * argument, the message text — so one connection serves every scenario. Each error body's bytes are
 * known to the test (`errorBody`), so it can tell that an answer with nothing to find passed byte for
 * byte. Bodies never depend on what the caller sent, apart from a JSON-RPC id.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AgentCard } from '@a2a-js/sdk';
import { keepIdleConnections, listen } from '../shared/local.server.ts';

/** What the upstreams leak in their errors: an AWS access key id and a payment card. */
export const LEAKED_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
export const LEAKED_CARD = '4111 1111 1111 1111';

export type Scenario = 'leak' | 'benign' | 'html' | 'binary' | 'big';
export type Protocol = 'openai' | 'anthropic' | 'jsonrpc';

const LEAK_MESSAGE = `upstream rejected the request: key ${LEAKED_KEY} for card ${LEAKED_CARD} was refused`;

/** The status, content type and bytes an upstream answers `scenario` with. */
export function errorBody(
  scenario: Scenario,
  protocol: Protocol,
  id: unknown = null,
): { status: number; type: string; body: Uint8Array } {
  const json = (status: number, value: unknown, raw?: string) => ({
    status,
    type: 'application/json',
    body: new TextEncoder().encode(raw ?? JSON.stringify(value)),
  });
  const shaped = (message: string) =>
    protocol === 'openai'
      ? { error: { message, type: 'server_error', param: null, code: 'internal' } }
      : protocol === 'anthropic'
        ? { type: 'error', error: { type: 'api_error', message } }
        : { jsonrpc: '2.0', id, error: { code: -32603, message } };
  switch (scenario) {
    case 'leak':
      return json(500, shaped(LEAK_MESSAGE));
    case 'benign': {
      // Spacing and key order no serializer of the gateway's would write: byte for byte or not at all.
      const text = JSON.stringify(shaped('model is overloaded, try again later'), null, 3);
      return json(400, null, `${text.replace(/":/g, '" :')}\n\n`);
    }
    case 'html':
      return {
        status: 502,
        type: 'text/html; charset=utf-8',
        body: new TextEncoder().encode(
          `<html><body><h1>Bad gateway</h1><pre>${LEAK_MESSAGE}</pre></body></html>\n`,
        ),
      };
    case 'binary':
      // Not UTF-8 (nor UTF-16/32): bytes no inspection can read.
      return {
        status: 500,
        type: 'application/octet-stream',
        body: Uint8Array.from({ length: 512 }, (_, i) => 0x80 + ((i * 7) % 0x40)),
      };
    case 'big':
      // Over the 64 KiB the gateway reads of an error body.
      return json(400, shaped(`${'x'.repeat(70 * 1024)} ${LEAK_MESSAGE}`));
  }
}

const SCENARIO = /scenario-(leak|benign|html|binary|big)/;

function scenarioOf(text: string): Scenario {
  return (SCENARIO.exec(text)?.[1] as Scenario | undefined) ?? 'benign';
}

/** The request's body as text (both error upstreams). */
export async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, answer: { status: number; type: string; body: Uint8Array }) {
  res.writeHead(answer.status, { 'Content-Type': answer.type, 'Content-Length': answer.body.byteLength });
  res.end(answer.body);
}

/** The A2A card of an agent served at `base` whose JSON-RPC endpoint is …/a2a (both error upstreams). */
export function errorAgentCard(
  base: string,
  agent: { name: string; description: string; streaming: boolean; skillDescription: string },
) {
  return AgentCard.toJSON({
    name: agent.name,
    description: agent.description,
    supportedInterfaces: [
      { url: `${base}/a2a`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
    ],
    provider: { organization: 'Igris tests', url: 'https://example.com' },
    version: '1.0.0',
    capabilities: {
      streaming: agent.streaming,
      pushNotifications: false,
      extensions: [],
      extendedAgentCard: false,
    },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'echo',
        name: 'Echo',
        description: agent.skillDescription,
        tags: [],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  } as never);
}

const card = (base: string) =>
  errorAgentCard(base, {
    name: 'Erroring agent',
    description: 'Answers every message with an error',
    streaming: false,
    skillDescription: 'Echoes',
  });

async function handle(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
  const path = req.url ?? '/';
  if (req.method === 'GET' && path.endsWith('/.well-known/agent-card.json')) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(card(base)));
    return;
  }
  const text = await bodyOf(req);
  const message = text
    ? (JSON.parse(text) as { id?: unknown; method?: string; params?: Record<string, unknown> })
    : {};
  if (path.endsWith('/mcp')) {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    if (message.id === undefined) return void res.writeHead(202).end();
    if (message.method === 'initialize') {
      const result = {
        protocolVersion: message.params?.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'erroring-mcp', version: '1.0.0' },
      };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      return;
    }
    return send(res, errorBody(scenarioOf(text), 'jsonrpc', message.id));
  }
  if (path.endsWith('/a2a')) return send(res, errorBody(scenarioOf(text), 'jsonrpc', message.id ?? null));
  const protocol = path.includes('/messages') ? 'anthropic' : 'openai';
  send(res, errorBody(scenarioOf(`${path} ${text}`), protocol));
}

export interface ErrorUpstream {
  /** The server's base URL (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

export function startErrorUpstream(): Promise<ErrorUpstream> {
  return serveWith(handle);
}

/**
 * A local server whose every request `handle` answers, told the server's base URL (for the A2A
 * card); a 500 when it throws. Both error upstreams.
 */
export async function serveWith(
  handle: (req: IncomingMessage, res: ServerResponse, base: string) => Promise<void>,
): Promise<ErrorUpstream> {
  let base = '';
  const server: Server = keepIdleConnections(
    createServer((req, res) => {
      handle(req, res, base).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    }),
  );
  const listening = await listen(server);
  base = listening.url;
  return { url: base, close: listening.close };
}
