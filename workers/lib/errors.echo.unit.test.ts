/**
 * Every wire mapping of an AppError clears its message and details of credentials (errors.ts
 * echoSafe): a site that quotes the caller's text without lib/echo.safe.ts cannot send a key back.
 * Codes, statuses and the shape stay as they were.
 */
import { describe, expect, it } from 'vitest';
import { anthropicErrorBody, openAiErrorBody } from '../llm/llm.errors';
import { AppError, jsonRpcErrorBody, restErrorBody } from './errors';

const AWS = 'AKIATOKLVWZ0PT0JWG0Y';
const GITHUB = 'ghp_PTTv6vsndhgF9eRW1veDgS0dYlaFqhLidHDy';

const leaky = () =>
  new AppError('validation_failed', {
    message: `Invalid request field "${GITHUB}": expected number`,
    details: {
      location: 'body',
      path: `metadata.${AWS}`,
      issues: [{ path: GITHUB, message: 'x' }],
      [GITHUB]: 1,
    },
  });

describe('wire mappings send no credential the message or details quote', () => {
  it.each([
    ['REST', () => restErrorBody(leaky())],
    ['JSON-RPC', () => jsonRpcErrorBody(leaky(), 1, 'ig_trace_x')],
    ['OpenAI', () => openAiErrorBody(leaky())],
    ['Anthropic', () => anthropicErrorBody(leaky())],
  ])('%s', (_wire, body) => {
    const text = JSON.stringify(body());
    expect(text).not.toContain(AWS);
    expect(text).not.toContain(GITHUB);
    expect(text).toContain('Invalid request field \\"[redacted]\\": expected number');
    expect(text).toContain('metadata.[redacted]');
    expect(text).toMatch(/"(validation_failed|invalid_request_error)"/);
  });

  it("OpenAI's param is the cleared path", () => {
    expect(openAiErrorBody(leaky()).error.param).toBe('metadata.[redacted]');
  });

  it('leaves an error without caller text as it was', () => {
    const err = new AppError('policy_denied', {
      message: 'Denied by policy: no deletions (trace ig_trace_1)',
      details: { tool: 'delete_x', ruleIndex: 0 },
    });
    expect(restErrorBody(err)).toEqual({
      error: {
        code: 'policy_denied',
        message: 'Denied by policy: no deletions (trace ig_trace_1)',
        details: { tool: 'delete_x', ruleIndex: 0 },
      },
    });
  });
});
