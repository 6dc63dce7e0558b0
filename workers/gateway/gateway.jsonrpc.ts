/**
 * Reading the JSON-RPC body of a gateway POST: size-capped while streaming (a 1 GB body is
 * refused after the first MB, not after it has been buffered), then parsed and checked for the
 * JSON-RPC 2.0 shape. Errors are the spec's: -32700 for unparseable JSON, -32600 for a body that
 * is JSON but not a JSON-RPC message.
 */

import { AppError } from '../lib/errors.js';
import { readCapped } from '../lib/http.bounded.js';
import { isRecord, strictUtf8 } from '../lib/values.js';
import { DEFAULT_MAX_BATCH_MESSAGES } from '../shared/connection.settings.js';
import { keepBody } from './gateway.replay.js';

export type JsonRpcId = string | number | null;

export interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: JsonRpcId;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export type MessageKind = 'request' | 'notification' | 'response';

export function messageKind(msg: JsonRpcMessage): MessageKind {
  if (typeof msg.method === 'string') return msg.id === undefined ? 'notification' : 'request';
  return 'response';
}

/** The body's bytes, remembered (not copied) so that a call prepared again reads them afresh (gateway.replay.ts). */
export async function readBodyCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
  return keepBody(request, await readCapped(request, maxBytes, () => bodyTooLarge(maxBytes)));
}

/** 413: the body is over the connection's (or the hard) limit. */
export function bodyTooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', { details: { maxBytes } });
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/** Validates one message; throws invalid_request naming what is wrong. */
export function checkMessage(value: unknown, where: string): JsonRpcMessage {
  const fail = (message: string) =>
    new AppError('invalid_request', {
      message: `Invalid JSON-RPC message: ${message}`,
      details: { location: 'body', path: where },
    });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('not an object');
  const msg = value as Record<string, unknown>;
  if (msg.jsonrpc !== '2.0') throw fail('jsonrpc must be "2.0"');
  if ('id' in msg && !isValidId(msg.id)) throw fail('id must be a string, a number or null');
  if ('method' in msg) {
    if (typeof msg.method !== 'string' || msg.method.length === 0)
      throw fail('method must be a non-empty string');
    if ('params' in msg && (typeof msg.params !== 'object' || msg.params === null)) {
      throw fail('params must be an object or an array');
    }
  } else if (!('result' in msg) && !('error' in msg)) {
    throw fail('a message needs a method, a result or an error');
  } else if (!('id' in msg)) {
    throw fail('a response needs an id');
  }
  return msg as unknown as JsonRpcMessage;
}

export interface ParsedBody {
  /** True when the body was a JSON array (a batch). */
  batch: boolean;
  messages: JsonRpcMessage[];
}

/** Deepest JSON nesting (objects and arrays) a gateway body may have; MCP messages need a handful. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether the JSON text nests objects/arrays deeper than `max`, found in one pass over the bytes
 * before parsing: structural characters are ASCII and never occur inside a UTF-8 multi-byte
 * sequence, so only strings (and their escapes) need tracking. Deep nesting is refused because
 * every later reader of the message (validation, policy, list filtering, the upstream) walks it,
 * some recursively.
 */
export function exceedsJsonDepth(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
      continue;
    }
    if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > max) return true;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return false;
}

export function parseJsonRpc(
  bytes: Uint8Array,
  maxBatchMessages: number = DEFAULT_MAX_BATCH_MESSAGES,
): ParsedBody {
  if (exceedsJsonDepth(bytes, MAX_JSON_DEPTH)) {
    throw new AppError('invalid_request', {
      message: `Invalid JSON-RPC message: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
      details: { location: 'body', maxDepth: MAX_JSON_DEPTH },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8(bytes));
  } catch {
    throw new AppError('parse_error', {
      message: 'Parse error: the body is not valid JSON',
      details: { location: 'body' },
    });
  }
  if (Array.isArray(value)) {
    if (value.length === 0)
      throw new AppError('invalid_request', {
        message: 'Invalid JSON-RPC message: empty batch',
        details: { location: 'body' },
      });
    // Refused whole, before any item is validated, decided or audited: a batch of thousands of
    // notifications would otherwise write thousands of audit rows.
    if (value.length > maxBatchMessages)
      throw new AppError('invalid_request', {
        message: `Invalid JSON-RPC message: a batch of ${value.length} messages is over this connection's limit of ${maxBatchMessages} (settings.maxBatchMessages)`,
        details: { location: 'body', messages: value.length, maxBatchMessages },
      });
    return { batch: true, messages: value.map((item, i) => checkMessage(item, `[${i}]`)) };
  }
  return { batch: false, messages: [checkMessage(value, '')] };
}

/** The id to answer an error with: the request's id when there is exactly one, else null. */
export function replyId(parsed: ParsedBody | null): JsonRpcId {
  if (!parsed || parsed.batch) return null;
  return parsed.messages[0]?.id ?? null;
}

/**
 * For a stream answering the request `id`: which event data is its response (`answer`), which
 * is another JSON-RPC message (`message`: a notification or a server request), and which is
 * neither (`other`: an empty priming event, text). Null when there is no one request to answer.
 */
export function streamedAnswerOf(id: JsonRpcId): ((data: string) => 'answer' | 'message' | 'other') | null {
  if (id === null) return null;
  return (data) => {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return 'other';
    }
    if (Array.isArray(value)) return 'message';
    if (!isRecord(value)) return 'other';
    return value.id === id && ('result' in value || 'error' in value) && !('method' in value)
      ? 'answer'
      : 'message';
  };
}
