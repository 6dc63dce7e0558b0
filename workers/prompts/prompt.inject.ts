/**
 * Puts a governed system prompt into an LLM request body (pure; returns a new body):
 *   OpenAI chat      a `system` message first; the caller's system/developer messages stay after it
 *   Responses API    `instructions` = governed text, then the caller's instructions
 *                    (`replace` also drops system/developer messages from `input`)
 *   Anthropic        `system` = governed text, then the caller's system (string or blocks)
 * `replace` drops the caller's own system prompt. Other endpoints (embeddings, completions…) have
 * no system prompt: nothing is injected (`injected: false`; llm.governance.ts refuses completions).
 */
import type { LlmEndpointName } from '../llm/llm.endpoints';

export type InjectMode = 'prepend' | 'replace';

export function injectSystemPrompt(
  endpoint: LlmEndpointName,
  body: Record<string, unknown>,
  text: string,
  mode: InjectMode,
): { body: Record<string, unknown>; injected: boolean } {
  switch (endpoint) {
    case 'chat.completions': {
      const messages = Array.isArray(body.messages) ? body.messages : [];
      const kept = mode === 'replace' ? withoutSystemTurns(messages) : messages;
      return { body: { ...body, messages: [{ role: 'system', content: text }, ...kept] }, injected: true };
    }
    case 'responses':
    // The count of a Responses request counts what the model would see: the governed prompt too.
    case 'responses.input_tokens': {
      const own =
        typeof body.instructions === 'string' && body.instructions !== '' ? body.instructions : null;
      const instructions = mode === 'replace' || own === null ? text : `${text}\n\n${own}`;
      // `input` may carry the caller's own system or developer messages, which the model reads as
      // instructions as much as `instructions`: `replace` drops them too, as it does on chat.
      const input =
        mode === 'replace' && Array.isArray(body.input) ? withoutSystemTurns(body.input) : body.input;
      return {
        body: { ...body, instructions, ...(input === undefined ? {} : { input }) },
        injected: true,
      };
    }
    case 'messages':
    case 'messages.count_tokens': {
      const own = body.system;
      let system: unknown = text;
      if (mode === 'prepend' && typeof own === 'string' && own !== '') system = `${text}\n\n${own}`;
      else if (mode === 'prepend' && Array.isArray(own) && own.length > 0)
        system = [{ type: 'text', text }, ...own];
      return { body: { ...body, system }, injected: true };
    }
    default:
      return { body, injected: false };
  }
}

/** The turns that are not the caller's own system prompt (`system` or `developer` role). */
function withoutSystemTurns(turns: unknown[]): unknown[] {
  return turns.filter((m) => {
    const role = (m as { role?: unknown } | null)?.role;
    return role !== 'system' && role !== 'developer';
  });
}
