/**
 * LLM connections and the official SDK clients that call through them, shared by the e2e tests of
 * the LLM gateway. Kept apart from helpers.ts so that the MCP-only tests do not load the SDKs.
 */
import Anthropic, { type ClientOptions as AnthropicOptions } from '@anthropic-ai/sdk';
import OpenAI, { type ClientOptions as OpenAIOptions } from 'openai';
import { adminKey, api, gatewayUrl } from './helpers';

export const ALLOW_ALL = [{ tool: '*', action: 'allow' }];

export interface LlmConnectionOptions {
  /** The provider's base URL as the connection stores it (the fake provider's is `${fake.url}/v1`). */
  upstreamUrl: string;
  /** The provider key the gateway injects. */
  credential: string;
  settings?: Record<string, unknown>;
  /** The policy published once the connection exists; allow-all unless given. */
  rules?: unknown[];
  /** The API key that creates it (the admin key's organization unless given). */
  key?: string;
}

/**
 * Creates LLM connection `slug` and publishes its policy; throws, with the status and body, unless
 * the connection is new (its slug names the run) and the policy is taken. Returns the created row.
 */
export async function createLlmConnection(
  slug: string,
  { upstreamUrl, credential, settings, rules = ALLOW_ALL, key = adminKey() }: LlmConnectionOptions,
): Promise<{ id: string }> {
  const created = await api<{ id: string }>(
    'POST',
    '/connections',
    {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl,
      credential,
      ...(settings === undefined ? {} : { settings }),
    },
    key,
  );
  if (created.status !== 201)
    throw new Error(`create ${slug}: ${created.status} ${JSON.stringify(created.body)}`);
  const policy = await api('PUT', `/connections/${slug}/policy`, { rules }, key);
  if (policy.status !== 200)
    throw new Error(`policy ${slug}: ${policy.status} ${JSON.stringify(policy.body)}`);
  return created.body;
}

/**
 * The official `openai` client on connection `slug` through the gateway: the admin key and no retries
 * (a test sees the first answer) unless `options` say otherwise.
 */
export const openaiClient = (slug: string, options: OpenAIOptions = {}) =>
  new OpenAI({ apiKey: adminKey(), maxRetries: 0, ...options, baseURL: `${gatewayUrl()}/llm/${slug}/v1` });

/** The official `@anthropic-ai/sdk` client on connection `slug`, with the same defaults. */
export const anthropicClient = (slug: string, options: AnthropicOptions = {}) =>
  new Anthropic({ apiKey: adminKey(), maxRetries: 0, ...options, baseURL: `${gatewayUrl()}/llm/${slug}` });

/**
 * An `openai-compatible` connection and an `anthropic` one, alike but for the provider (`settings`
 * without it), each with its official SDK client (admin key, no retries).
 */
export async function createLlmPair(
  slugs: { openai: string; anthropic: string },
  options: LlmConnectionOptions,
): Promise<{ openai: OpenAI; anthropic: Anthropic }> {
  const settings = (provider: string) => ({ ...options, settings: { provider, ...options.settings } });
  await createLlmConnection(slugs.openai, settings('openai-compatible'));
  await createLlmConnection(slugs.anthropic, settings('anthropic'));
  return { openai: openaiClient(slugs.openai), anthropic: anthropicClient(slugs.anthropic) };
}
