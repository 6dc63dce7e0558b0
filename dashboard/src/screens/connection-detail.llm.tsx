/**
 * "Use it" for an LLM connection: its OpenAI-style base URL and copyable snippets for the official
 * OpenAI SDK, the official Anthropic SDK and curl (no secrets: the key is a placeholder).
 */
import { Link } from '../lib/router';
import { KEY_PLACEHOLDER } from './connection.snippets';
import { UseItCard, type UseItSnippet } from './use-it.card';

type Snippet = 'openai' | 'anthropic' | 'curl';

/** `<base>/llm/<slug>/v1` → `<base>/llm/<slug>` (the Anthropic SDK appends /v1/messages itself). */
export function anthropicBaseUrl(gatewayUrl: string): string {
  return gatewayUrl.replace(/\/v1$/, '');
}

export function openAiSnippet(gatewayUrl: string, model: string): string {
  return `import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: '${gatewayUrl}',
  apiKey: process.env.IGRIS_API_KEY, // ${KEY_PLACEHOLDER}
  defaultHeaders: { 'X-Igris-User': 'alice@company.com' },
});

const answer = await client.chat.completions.create({
  model: '${model}',
  messages: [{ role: 'user', content: 'Hello' }],
});
console.log(answer.choices[0].message.content);`;
}

export function anthropicSnippet(gatewayUrl: string, model: string): string {
  return `import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({
  baseURL: '${anthropicBaseUrl(gatewayUrl)}',
  apiKey: process.env.IGRIS_API_KEY, // ${KEY_PLACEHOLDER}
  defaultHeaders: { 'X-Igris-User': 'alice@company.com' },
});

const message = await client.messages.create({
  model: '${model}',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Hello' }],
});
console.log(message.content);`;
}

export function curlSnippet(gatewayUrl: string, family: 'openai' | 'anthropic', model: string): string {
  const path = family === 'anthropic' ? 'messages' : 'chat/completions';
  const maxTokens = family === 'anthropic' ? ', "max_tokens": 256' : '';
  return `curl ${gatewayUrl}/${path} \\
  -H "Authorization: Bearer ${KEY_PLACEHOLDER}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}"${maxTokens}, "messages": [{"role": "user", "content": "Hello"}]}'`;
}

/** What the snippets need: a sharee's view carries these too, not the whole connection. */
export interface LlmUseItConnection {
  slug: string;
  gatewayUrl: string;
  allowedModels: readonly string[] | undefined;
}

/** A model name for the snippets: the first literal of the allowlist, else a typical one. */
function exampleModel(connection: LlmUseItConnection, family: 'openai' | 'anthropic'): string {
  const literal = connection.allowedModels?.find((m) => !/[*?]/.test(m));
  return literal ?? (family === 'anthropic' ? 'claude-sonnet-4-5' : 'gpt-4o-mini');
}

export function LlmUseIt({
  connection,
  family,
}: {
  connection: LlmUseItConnection;
  family: 'openai' | 'anthropic';
}) {
  const model = exampleModel(connection, family);
  const url = connection.gatewayUrl;
  const snippets: Record<Snippet, UseItSnippet> = {
    openai: {
      label: 'OpenAI SDK',
      text: openAiSnippet(url, model),
      caption: 'TypeScript, the official openai package',
    },
    anthropic: {
      label: 'Anthropic SDK',
      text: anthropicSnippet(url, model),
      caption: 'TypeScript, @anthropic-ai/sdk (base URL without /v1)',
    },
    curl: { label: 'curl', text: curlSnippet(url, family, model), caption: 'Any HTTP client' },
  };
  return (
    <UseItCard
      urlLabel="Base URL"
      url={url}
      snippets={snippets}
      initial={family === 'anthropic' ? 'anthropic' : 'openai'}
      tablistLabel="Client snippet"
    >
      Replace <code>{KEY_PLACEHOLDER}</code> with a key from <Link to="/api-keys">API keys</Link>: the
      provider key stays in the vault. Or call <code>/v1/chat/completions</code> with{' '}
      <code>{`"model": "@${connection.slug}/${model}"`}</code>.
    </UseItCard>
  );
}
