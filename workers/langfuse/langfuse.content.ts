/**
 * The prompt and completion of an LLM call, for Langfuse — only for connections with
 * `settings.logContent` on (pure; docs/observability.md#langfuse).
 *
 *   promptOf       what was forwarded (after redaction and the governed system prompt): the
 *                  request's `messages` / `input` / `prompt`, with Anthropic's `system`
 *   ContentCapture a response stage that reads the answer message by message without changing
 *                  it, before redaction placeholders are restored (llm.adapter.ts): a JSON answer's choices / content / output, or the text deltas of a stream
 *                  (OpenAI chat chunks, Anthropic `content_block_delta`, Responses
 *                  `response.output_text.delta`) joined, at most CONTENT_LIMIT characters.
 */
import type { ResponseStage } from '../gateway/gateway.stages';
import { CONTENT_LIMIT } from './langfuse.event';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;

/**
 * The output Langfuse gets instead of an answer content inspection refused or masked: the
 * provider's text is what the caller was denied, and must not reach a third party either.
 */
export const WITHHELD_OUTPUT = '[withheld by Igris Edge: content inspection blocked or masked this answer]';

export function promptOf(body: Record<string, unknown> | null): unknown {
  if (!body) return undefined;
  const prompt = body.messages ?? body.input ?? body.prompt;
  if (prompt === undefined) return undefined;
  return body.system !== undefined ? { system: body.system, messages: prompt } : prompt;
}

export class ContentCapture {
  #whole: unknown;
  #text = '';
  #full = false;

  /** The completion: the JSON answer's content, or the streamed text. */
  output(): unknown {
    if (this.#whole !== undefined) return this.#whole;
    return this.#text === '' ? undefined : this.#text;
  }

  stage(): ResponseStage {
    return {
      name: 'langfuse_content',
      onMessage: (message) => {
        this.#observe(message);
        return undefined;
      },
      done: () => this.#full,
    };
  }

  #observe(message: unknown): void {
    const m = obj(message);
    if (!m) return;
    const choices = Array.isArray(m.choices) ? m.choices.map(obj) : [];
    // OpenAI chat: a whole answer's messages, or a chunk's delta.
    const messages = choices.map((c) => c?.message).filter((x) => x !== undefined);
    if (messages.length > 0) {
      this.#whole = messages.length === 1 ? messages[0] : messages;
      return;
    }
    for (const c of choices) {
      const delta = obj(c?.delta);
      if (typeof delta?.content === 'string') this.#append(delta.content);
    }
    if (typeof choices[0]?.text === 'string') this.#append(choices[0].text as string); // completions
    // Anthropic Messages: a whole message, or a stream's text deltas.
    if (m.type === 'message' && Array.isArray(m.content)) this.#whole = m.content;
    if (m.type === 'content_block_delta') {
      const delta = obj(m.delta);
      if (typeof delta?.text === 'string') this.#append(delta.text);
    }
    // OpenAI Responses: a whole response's output, or its text deltas.
    if (m.object === 'response' && Array.isArray(m.output)) this.#whole = m.output;
    if (m.type === 'response.output_text.delta' && typeof m.delta === 'string') this.#append(m.delta);
  }

  #append(text: string): void {
    if (this.#full) return;
    this.#text += text;
    if (this.#text.length >= CONTENT_LIMIT) {
      this.#text = `${this.#text.slice(0, CONTENT_LIMIT)}… [truncated by Igris Edge]`;
      this.#full = true;
    }
  }
}
