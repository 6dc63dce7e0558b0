import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../lib/errors.ts';
import {
  anthropicErrorBody,
  llmErrorResponse,
  llmStatus,
  llmStreamErrorEvent,
  openAiErrorBody,
} from './llm.errors.ts';

/** What each official SDK raises for an error answer of ours (their own status → class mapping). */
async function sdkErrors(err: AppError) {
  const openaiRes = llmErrorResponse('openai', err, { traceId: 'ig_trace_1' });
  const anthropicRes = llmErrorResponse('anthropic', err, { traceId: 'ig_trace_1' });
  const o = OpenAI.APIError.generate(openaiRes.status, await openaiRes.json(), undefined, openaiRes.headers);
  const a = Anthropic.APIError.generate(
    anthropicRes.status,
    await anthropicRes.json(),
    undefined,
    anthropicRes.headers,
  );
  return { o, a, openaiRes, anthropicRes };
}

describe('LLM error shapes', () => {
  it('a policy deny is a 403 PermissionDenied in both SDKs', async () => {
    const err = new AppError('policy_denied', { details: { ruleIndex: 2 } });
    const { o, a, openaiRes } = await sdkErrors(err);
    expect(o).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(a).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(o.code).toBe('policy_denied');
    expect(o.type).toBe('permission_error');
    expect(a.type).toBe('permission_error');
    expect(openaiRes.headers.get('X-Igris-Trace-Id')).toBe('ig_trace_1');
    expect(openAiErrorBody(err)).toEqual({
      error: {
        message: 'Denied by policy',
        type: 'permission_error',
        param: null,
        code: 'policy_denied',
        details: { ruleIndex: 2 },
      },
    });
    expect(anthropicErrorBody(err)).toEqual({
      type: 'error',
      error: { type: 'permission_error', message: 'Denied by policy', details: { ruleIndex: 2 } },
    });
  });

  it('a rate limit is a 429 RateLimit with Retry-After, retry allowed', async () => {
    const err = new AppError('rate_limited', { headers: { 'Retry-After': '7' } });
    const { o, a, openaiRes, anthropicRes } = await sdkErrors(err);
    expect(o).toBeInstanceOf(OpenAI.RateLimitError);
    expect(a).toBeInstanceOf(Anthropic.RateLimitError);
    expect(openaiRes.headers.get('Retry-After')).toBe('7');
    expect(anthropicRes.headers.get('Retry-After')).toBe('7');
    expect(openaiRes.headers.get('x-should-retry')).toBeNull();
    expect(a.type).toBe('rate_limit_error');
  });

  it('a kill switch is a 503 the SDKs are told not to retry', async () => {
    const { o, a, openaiRes } = await sdkErrors(new AppError('session_suspended'));
    expect(o).toBeInstanceOf(OpenAI.InternalServerError);
    expect(a).toBeInstanceOf(Anthropic.ServiceUnavailableError);
    expect(openaiRes.status).toBe(503);
    expect(openaiRes.headers.get('x-should-retry')).toBe('false');
  });

  it.each([
    ['unauthorized', 401, OpenAI.AuthenticationError, Anthropic.AuthenticationError],
    ['not_found', 404, OpenAI.NotFoundError, Anthropic.NotFoundError],
    ['validation_failed', 400, OpenAI.BadRequestError, Anthropic.BadRequestError],
    ['budget_exceeded', 402, OpenAI.APIError, Anthropic.PaymentRequiredError],
    ['connection_forbidden', 403, OpenAI.PermissionDeniedError, Anthropic.PermissionDeniedError],
    ['payload_too_large', 413, OpenAI.APIError, Anthropic.ContentTooLargeError],
    ['upstream_timeout', 504, OpenAI.InternalServerError, Anthropic.GatewayTimeoutError],
    ['internal', 500, OpenAI.InternalServerError, Anthropic.InternalServerError],
  ] as const)('%s → %i', async (code, status, OpenAiClass, AnthropicClass) => {
    const { o, a } = await sdkErrors(new AppError(code as ErrorCode));
    expect(o.status).toBe(status);
    expect(o).toBeInstanceOf(OpenAiClass);
    expect(a).toBeInstanceOf(AnthropicClass);
  });

  it('an upstream timeout is a 504 the SDKs are told not to retry (a retry reruns the generation)', async () => {
    const { openaiRes, anthropicRes } = await sdkErrors(new AppError('upstream_timeout'));
    expect(openaiRes.headers.get('x-should-retry')).toBe('false');
    expect(anthropicRes.headers.get('x-should-retry')).toBe('false');
  });

  it('names the body field of a validation error as the OpenAI param', () => {
    const err = new AppError('validation_failed', { details: { location: 'body', path: 'max_tokens' } });
    expect(openAiErrorBody(err).error.param).toBe('max_tokens');
    expect(openAiErrorBody(new AppError('budget_exceeded')).error.type).toBe('insufficient_quota');
  });

  it('never answers an error with a 2xx status', () => {
    expect(llmStatus(new AppError('method_not_found'))).toBe(404);
    expect(llmStatus(new AppError('policy_denied'))).toBe(403);
  });

  it('stream error events are what each SDK throws on', () => {
    const err = new AppError('session_suspended');
    expect(llmStreamErrorEvent('openai', err)).toBe(`data: ${JSON.stringify(openAiErrorBody(err))}\n\n`);
    expect(llmStreamErrorEvent('anthropic', err)).toBe(
      `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err))}\n\n`,
    );
  });
});
