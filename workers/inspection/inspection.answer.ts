/**
 * Where an LLM answer's texts are, in every shape the gateway relays (docs/detections.md): each
 * text under one key, its JSON path in the assembled answer, the same whether it arrives whole
 * or streamed in pieces — so a stream's closing summary is recognised as repeating its deltas.
 *
 *   OpenAI chat    `$.choices[i].message.content` / `.refusal` / `.reasoning_content` /
 *                  `.audio.transcript`, and
 *                  `$.choices[i].message.tool_calls[k].function.arguments` (streamed: the delta's
 *                  choice `index` and tool call `index`); legacy completions `$.choices[i].text`
 *   Anthropic      `$.content[i].text` (its `citations[j].cited_text`; streamed, `citations_delta`
 *                  pieces under `$.content[i].citations`), `.thinking` (`thinking_delta`) and `.input` (a tool_use's
 *                  input: `input_json_delta` pieces, or the whole input as JSON); `signature_delta`
 *                  and `redacted_thinking` are opaque, not content
 *   Responses      `$.output[o].content[c].text` / `.refusal`, `$.output[o].arguments` (a
 *                  function call; `function_call_arguments.delta` / `.done`), `$.output[o].input`
 *                  (a custom tool call; a hosted MCP call's `mcp_call_arguments`), `$.output[o].code`
 *                  (the code interpreter's), `$.output[o].summary[s].text` (reasoning summaries),
 *                  `$.audio.transcript`; any other `response.*.delta` text under its type's name
 *
 * The walkers call `AnswerTexts`: `piece` for a streamed piece (returns it with placeholders
 * restored when it has a restore key), `whole` for a whole text, `end` when a text (or every
 * text under a prefix) has ended. Pure.
 */
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';

export interface AnswerTexts {
  /**
   * A streamed piece of the text `key`, replaced by what is returned. `restoreKey` null: never
   * restored (returned as is), only a held stream's masking rewrites it (inspection.hold.ts).
   */
  piece(key: string, text: string, restoreKey: string | null): string;
  /**
   * The text `key` as a whole; a string returned replaces it in the message (a whole answer's
   * masking, inspection.answer.mask.ts), undefined keeps it.
   */
  whole(key: string, text: string): string | undefined;
  /** Every text whose key starts with `prefix` ('' for all) has ended. */
  end(prefix: string): void;
  /** A placeholder tail held back for `restoreKey`, released at its text's end ('' when none). */
  flush(restoreKey: string): string;
  /** This answer's keys (answerKeys). */
  key: Keys;
}

type Json = Record<string, unknown>;

const str = (v: unknown): v is string => typeof v === 'string';
const idx = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);

/**
 * A stream's keys, built once per answer, kind and indices and then reused: a key built afresh for
 * every delta is a new string that each Map lookup must flatten and hash again. Per answer, not
 * per isolate, so an answer's indices cannot grow a cache that outlives it; indices past KEY_CACHE
 * are built each time (an answer opens at most MAX_ANSWER_STREAMS texts anyway).
 */
const KEY_CACHE = 128;
export type KeyBuilder = (a: number, b: number) => string;
export type Keys = (build: KeyBuilder, a: number, b?: number) => string;

export function answerKeys(): Keys {
  const caches = new Map<KeyBuilder, string[][]>();
  return (build, a, b = 0) => {
    if (a >= KEY_CACHE || b >= KEY_CACHE) return build(a, b);
    let cache = caches.get(build);
    if (!cache) {
      cache = [];
      caches.set(build, cache);
    }
    let row = cache[a];
    if (!row) {
      row = [];
      cache[a] = row;
    }
    let k = row[b];
    if (k === undefined) {
      k = build(a, b);
      row[b] = k;
    }
    return k;
  };
}

const CHAT_CONTENT: KeyBuilder = (i) => `$.choices[${i}].message.content`;
const CHAT_REFUSAL: KeyBuilder = (i) => `$.choices[${i}].message.refusal`;
const CHAT_REASONING: KeyBuilder = (i) => `$.choices[${i}].message.reasoning_content`;
const CHAT_AUDIO: KeyBuilder = (i) => `$.choices[${i}].message.audio.transcript`;
const CHAT_TOOL: KeyBuilder = (i, k) => `$.choices[${i}].message.tool_calls[${k}].function.arguments`;
const CHAT_CHOICE: KeyBuilder = (i) => `$.choices[${i}].`;
const CHAT_RESTORE: KeyBuilder = (i) => `c${i}`;
const CHAT_TOOL_RESTORE: KeyBuilder = (i, k) => `c${i}t${k}`;
const LEGACY_TEXT: KeyBuilder = (i) => `$.choices[${i}].text`;
const BLOCK_TEXT: KeyBuilder = (i) => `$.content[${i}].text`;
const BLOCK_THINKING: KeyBuilder = (i) => `$.content[${i}].thinking`;
const BLOCK_INPUT: KeyBuilder = (i) => `$.content[${i}].input`;
const BLOCK_CITATIONS: KeyBuilder = (i) => `$.content[${i}].citations`;
const BLOCK: KeyBuilder = (i) => `$.content[${i}].`;
const BLOCK_RESTORE: KeyBuilder = (i) => `a${i}`;
const OUTPUT_TEXT: KeyBuilder = (o, c) => `$.output[${o}].content[${c}].text`;
const OUTPUT_REFUSAL: KeyBuilder = (o, c) => `$.output[${o}].content[${c}].refusal`;
const OUTPUT_ARGUMENTS: KeyBuilder = (o) => `$.output[${o}].arguments`;
const OUTPUT_INPUT: KeyBuilder = (o) => `$.output[${o}].input`;
const OUTPUT_SUMMARY: KeyBuilder = (o, s) => `$.output[${o}].summary[${s}].text`;
const OUTPUT_CODE: KeyBuilder = (o) => `$.output[${o}].code`;
/** A Responses audio answer's transcript (its events carry no output index). */
const AUDIO_TRANSCRIPT = '$.audio.transcript';

/** A streamed event (chat chunk, Anthropic event, Responses event); false when it is none. */
export function streamEvent(m: Json, t: AnswerTexts): { matched: boolean; changed: boolean } {
  if (m.object === 'chat.completion.chunk') return { matched: true, changed: chatChunk(m, t) };
  if (m.object === 'text_completion') return { matched: false, changed: legacyChunk(m, t) };
  const type = m.type;
  if (!str(type)) return { matched: false, changed: false };
  if (type.startsWith('content_block') || type === 'message_delta' || type === 'message_stop')
    return { matched: true, changed: anthropicEvent(m, t) };
  if (type.startsWith('response.') && type.endsWith('.delta')) return responsesDelta(m, t);
  return { matched: false, changed: false };
}

/**
 * The refusal of a chat or legacy completions chunk that gives two choices one `index`; null when
 * none does. Their texts would be joined under one key in an order no client need assemble (one
 * reading `choices[0]` gets one of them whole), so a value cut across them escapes the scan:
 * refused, never guessed: a held answer whole (inspection.hold.ts), a passing stream there
 * (inspection.llm.stage.ts: the stream ends with the error event).
 */
export function repeatedChoice(m: Json): AppError | null {
  if (m.object !== 'chat.completion.chunk' && m.object !== 'text_completion') return null;
  if (!Array.isArray(m.choices) || m.choices.length < 2) return null;
  const seen = new Set<number>();
  for (const c of m.choices) {
    if (!isRecord(c)) continue;
    const i = idx(c.index); // as the texts are keyed
    if (seen.has(i))
      return new AppError('content_blocked', {
        message: `Blocked by content inspection: the answer streams two choices with index ${i}; their texts cannot be told apart`,
        details: { where: 'completion', location: `$.choices[${i}]` },
      });
    seen.add(i);
  }
  return null;
}

/** OpenAI chat chunk: each choice's content, refusal, reasoning and tool-call arguments. */
function chatChunk(chunk: Json, t: AnswerTexts): boolean {
  let changed = false;
  const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
  for (const choice of choices) {
    if (!isRecord(choice)) continue;
    const i = idx(choice.index);
    const delta = isRecord(choice.delta) ? choice.delta : null;
    if (delta && str(delta.content)) {
      const restored = t.piece(t.key(CHAT_CONTENT, i), delta.content, t.key(CHAT_RESTORE, i));
      changed ||= restored !== delta.content;
      delta.content = restored;
    }
    // Scanned only (returned unchanged) on a passing stream; a held one's masking rewrites them.
    if (delta && str(delta.refusal)) delta.refusal = t.piece(t.key(CHAT_REFUSAL, i), delta.refusal, null);
    if (delta && str(delta.reasoning_content))
      delta.reasoning_content = t.piece(t.key(CHAT_REASONING, i), delta.reasoning_content, null);
    const audio = delta && isRecord(delta.audio) ? delta.audio : null;
    if (audio && str(audio.transcript))
      audio.transcript = t.piece(t.key(CHAT_AUDIO, i), audio.transcript, null);
    const calls = delta && Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    for (const call of calls) {
      const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
      if (!fn || !str(fn.arguments)) continue;
      const k = idx((call as Json).index);
      const restored = t.piece(t.key(CHAT_TOOL, i, k), fn.arguments, t.key(CHAT_TOOL_RESTORE, i, k));
      changed ||= restored !== fn.arguments;
      fn.arguments = restored;
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      // The choice ended: release what was held back as the last words of this chunk.
      const rest = t.flush(t.key(CHAT_RESTORE, i));
      if (rest) {
        const d: Json = isRecord(choice.delta) ? choice.delta : {};
        d.content = `${str(d.content) ? d.content : ''}${rest}`;
        choice.delta = d;
        changed = true;
      }
      t.end(t.key(CHAT_CHOICE, i));
    }
  }
  return changed;
}

/** Legacy completions (streamed or not: the same object): scanned only, restored as a whole answer. */
function legacyChunk(chunk: Json, t: AnswerTexts): boolean {
  for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
    if (!isRecord(choice)) continue;
    const i = idx(choice.index);
    if (str(choice.text)) choice.text = t.piece(t.key(LEGACY_TEXT, i), choice.text, null);
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) t.end(t.key(CHAT_CHOICE, i));
  }
  return false;
}

/**
 * An Anthropic stream event: `text_delta` and `input_json_delta` restored, `thinking_delta` scanned
 * only (its block is signed: the client sends it back as the provider wrote it). A block's held-back
 * tail (only ever an unfinished placeholder's beginning) is released with the block's last delta;
 * at `content_block_stop` there is no text field left to carry it, so a tail still held then — a
 * placeholder cut off by the end of the block — is dropped.
 */
function anthropicEvent(event: Json, t: AnswerTexts): boolean {
  if (event.type === 'message_delta' || event.type === 'message_stop') {
    t.end('');
    return false;
  }
  const i = idx(event.index);
  if (event.type === 'content_block_stop') {
    t.flush(t.key(BLOCK_RESTORE, i));
    t.end(t.key(BLOCK, i));
    return false;
  }
  if (event.type === 'content_block_start' && isRecord(event.content_block)) {
    // A block usually starts empty; whatever it starts with is part of its text.
    const block = event.content_block;
    if (str(block.text) && block.text) block.text = t.piece(t.key(BLOCK_TEXT, i), block.text, null);
    if (str(block.thinking) && block.thinking)
      block.thinking = t.piece(t.key(BLOCK_THINKING, i), block.thinking, null);
    return false;
  }
  if (event.type !== 'content_block_delta' || !isRecord(event.delta)) return false;
  const delta = event.delta;
  // A citation's quoted text (from the caller's documents or a web search) is answer text too:
  // scanned, never passed unread, each one a piece of its block's citations.
  if (delta.type === 'citations_delta' && isRecord(delta.citation) && str(delta.citation.cited_text)) {
    delta.citation.cited_text = t.piece(t.key(BLOCK_CITATIONS, i), delta.citation.cited_text, null);
    return false;
  }
  if (delta.type === 'thinking_delta' && str(delta.thinking)) {
    delta.thinking = t.piece(t.key(BLOCK_THINKING, i), delta.thinking, null);
    return false;
  }
  const field =
    delta.type === 'text_delta' ? 'text' : delta.type === 'input_json_delta' ? 'partial_json' : null;
  if (!field || !str(delta[field])) return false;
  const before = delta[field] as string;
  const restored = t.piece(
    t.key(field === 'text' ? BLOCK_TEXT : BLOCK_INPUT, i),
    before,
    t.key(BLOCK_RESTORE, i),
  );
  delta[field] = restored;
  return restored !== before;
}

/** The Responses API's text deltas: output text, refusals, function-call arguments, reasoning. */
function responsesDelta(e: Json, t: AnswerTexts): { matched: boolean; changed: boolean } {
  if (!str(e.delta)) return { matched: false, changed: false };
  const o = idx(e.output_index);
  let k: string;
  let restoreKey: string | null = null;
  switch (e.type) {
    case 'response.output_text.delta':
      k = t.key(OUTPUT_TEXT, o, idx(e.content_index));
      restoreKey = `r${String(e.item_id)}:${String(e.content_index)}`;
      break;
    case 'response.function_call_arguments.delta':
      k = t.key(OUTPUT_ARGUMENTS, o);
      restoreKey = `f${String(e.item_id)}`;
      break;
    case 'response.custom_tool_call_input.delta':
      k = t.key(OUTPUT_INPUT, o);
      break;
    case 'response.refusal.delta':
      k = t.key(OUTPUT_REFUSAL, o, idx(e.content_index));
      break;
    case 'response.reasoning_summary_text.delta':
      k = t.key(OUTPUT_SUMMARY, o, idx(e.summary_index));
      break;
    case 'response.reasoning_text.delta':
      k = t.key(OUTPUT_TEXT, o, idx(e.content_index));
      break;
    // Hosted tools: the arguments the model writes for a remote MCP server, the code it writes for
    // the code interpreter — model output that leaves for a third party, as a function call's does.
    case 'response.mcp_call_arguments.delta':
      k = t.key(OUTPUT_ARGUMENTS, o);
      break;
    case 'response.code_interpreter_call_code.delta':
      k = t.key(OUTPUT_CODE, o);
      break;
    case 'response.audio.transcript.delta':
      k = AUDIO_TRANSCRIPT;
      break;
    case 'response.audio.delta':
      return { matched: false, changed: false }; // base64 audio, not text
    default:
      // Any other text delta (a type added after this list): scanned as a text of its own rather
      // than passed unread; reported under its type's name.
      k = `$.output[${o}].${String(e.type).slice('response.'.length, -'.delta'.length)}`;
  }
  const restored = t.piece(k, e.delta, restoreKey);
  const changed = restored !== e.delta;
  e.delta = restored;
  return { matched: true, changed };
}

/**
 * Any other message: a whole answer, or a Responses event that closes texts (`*.done`,
 * `output_item.done`, `response.completed`…). Its texts are given whole: scanned when the stream
 * has not carried them already.
 */
export function wholeMessage(m: Json, t: AnswerTexts): void {
  if (Array.isArray(m.choices)) {
    for (const c of m.choices) {
      if (!isRecord(c)) continue;
      const base = `$.choices[${idx(c.index)}]`;
      field(c, 'text', `${base}.text`, t);
      if (isRecord(c.message)) chatMessage(c.message, `${base}.message`, t);
    }
  }
  if (m.type === 'message' && Array.isArray(m.content)) {
    m.content.forEach((block, i) => {
      if (!isRecord(block)) return;
      const base = `$.content[${i}]`;
      if (block.type === 'text') field(block, 'text', `${base}.text`, t);
      if (Array.isArray(block.citations))
        block.citations.forEach((c, j) => {
          if (isRecord(c)) field(c, 'cited_text', `${base}.citations[${j}].cited_text`, t);
        });
      if (block.type === 'thinking') field(block, 'thinking', `${base}.thinking`, t);
      if (block.type === 'tool_use' && block.input !== undefined) {
        // Scanned as its JSON text; a replacement must still be JSON (else the mask refuses).
        const replaced = t.whole(`${base}.input`, JSON.stringify(block.input));
        if (replaced !== undefined) block.input = JSON.parse(replaced);
      }
    });
  }
  responsesWhole(m, t);
}

/** The string `obj[name]` as the whole text `key`, replaced when the walker's caller says so. */
function field(obj: Json, name: string, key: string, t: AnswerTexts): void {
  const value = obj[name];
  if (!str(value)) return;
  const replaced = t.whole(key, value);
  if (replaced !== undefined) obj[name] = replaced;
}

function chatMessage(msg: Json, base: string, t: AnswerTexts): void {
  field(msg, 'content', `${base}.content`, t);
  field(msg, 'refusal', `${base}.refusal`, t);
  field(msg, 'reasoning_content', `${base}.reasoning_content`, t);
  if (isRecord(msg.audio)) field(msg.audio, 'transcript', `${base}.audio.transcript`, t);
  if (!Array.isArray(msg.tool_calls)) return;
  msg.tool_calls.forEach((call, k) => {
    const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
    if (fn) field(fn, 'arguments', `${base}.tool_calls[${k}].function.arguments`, t);
  });
}

/** Responses: a whole response, an output item done, a text done. */
function responsesWhole(m: Json, t: AnswerTexts): void {
  const response = m.object === 'response' ? m : isRecord(m.response) ? m.response : null;
  if (response && Array.isArray(response.output))
    response.output.forEach((item, o) => {
      if (isRecord(item)) outputItem(item, `$.output[${o}]`, t);
    });
  const type = str(m.type) ? m.type : '';
  if (!type.startsWith('response.')) return;
  const o = `$.output[${idx(m.output_index)}]`;
  if (type === 'response.output_item.done' && isRecord(m.item)) outputItem(m.item, o, t);
  const c = `${o}.content[${idx(m.content_index)}]`;
  if (type === 'response.output_text.done') field(m, 'text', `${c}.text`, t);
  if (type === 'response.reasoning_text.done') field(m, 'text', `${c}.text`, t);
  if (type === 'response.refusal.done') field(m, 'refusal', `${c}.refusal`, t);
  if (type === 'response.function_call_arguments.done') field(m, 'arguments', `${o}.arguments`, t);
  if (type === 'response.custom_tool_call_input.done') field(m, 'input', `${o}.input`, t);
  if (type === 'response.mcp_call_arguments.done') field(m, 'arguments', `${o}.arguments`, t);
  if (type === 'response.code_interpreter_call_code.done') field(m, 'code', `${o}.code`, t);
  if (type === 'response.reasoning_summary_text.done')
    field(m, 'text', `${o}.summary[${idx(m.summary_index)}].text`, t);
  if (
    response &&
    (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed')
  )
    t.end('');
}

function outputItem(item: Json, o: string, t: AnswerTexts): void {
  field(item, 'arguments', `${o}.arguments`, t);
  if (item.type === 'custom_tool_call') field(item, 'input', `${o}.input`, t);
  if (item.type === 'code_interpreter_call') field(item, 'code', `${o}.code`, t);
  for (const name of ['content', 'summary'] as const) {
    const list = item[name];
    if (!Array.isArray(list)) continue;
    list.forEach((part, j) => {
      if (!isRecord(part)) return;
      field(part, 'text', `${o}.${name}[${j}].text`, t);
      field(part, 'refusal', `${o}.${name}[${j}].refusal`, t);
    });
  }
}
