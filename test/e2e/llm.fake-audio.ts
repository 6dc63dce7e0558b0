/**
 * The fake provider's transcription route (`POST /v1/audio/transcriptions`, OpenAI's): the
 * transcript is the upload's `prompt` field with FAKE_SECRET_TOKEN revealed (so a test's request
 * holds no secret while its answer does), in the `response_format` asked for — `json` (default) or
 * `verbose_json` as `{text}`, `text`, `srt` and `vtt` as plain text, as OpenAI answers them.
 */
import { reveal } from './llm.fake-provider.split.ts';
import type { FakeAnswer } from './llm.fake-responses.ts';

/** One multipart field's value, read from the raw body (the fake's bodies are small and plain). */
function field(raw: string, name: string): string | null {
  const match = new RegExp(`name="${name}"\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n([\\s\\S]*?)\\r\\n--`).exec(raw);
  return match?.[1] ?? null;
}

export function audioAnswer(method: string, path: string, raw: string): FakeAnswer | null {
  if (method !== 'POST' || path !== '/v1/audio/transcriptions') return null;
  const text = reveal(field(raw, 'prompt') ?? 'A quiet recording.');
  const format = field(raw, 'response_format') ?? 'json';
  if (format === 'json' || format === 'verbose_json') return { status: 200, body: { text } };
  if (format === 'srt')
    return { status: 200, text: `1\n00:00:00,000 --> 00:00:02,000\n${text}\n`, type: 'text/plain' };
  if (format === 'vtt')
    return { status: 200, text: `WEBVTT\n\n00:00.000 --> 00:02.000\n${text}\n`, type: 'text/vtt' };
  return { status: 200, text, type: 'text/plain; charset=utf-8' };
}
