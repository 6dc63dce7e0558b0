/**
 * The Provider settings card checks allowedModels and the stream bounds in the browser
 * (dashboard/src/screens/connection-llm.rules.ts) so a mistake shows under its field before a
 * request: here its verdicts are held against the API's own zod schema
 * (workers/shared/connection.settings.ts), case by case, so the two cannot drift apart unnoticed.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HELD_STREAM_MS,
  DEFAULT_STREAM_IDLE_MS,
  modelLines,
  modelsIssue,
  secondsOf,
  timeoutMs,
} from '../../dashboard/src/screens/connection-llm.rules';
import {
  connectionSettingsInputSchema,
  connectionSettingsSchema,
} from '../../workers/shared/connection.settings';

const apiAccepts = (settings: Record<string, unknown>) =>
  connectionSettingsInputSchema.safeParse(settings).success;

describe('allowedModels: the form refuses exactly what the API refuses', () => {
  const lists: string[][] = [
    [],
    ['gpt-4o*', 'o?-mini', 'claude-*'],
    ['a'.repeat(200)],
    ['a'.repeat(201)],
    ['gpt 4o'],
    ['gpt\t4o'],
    ['gpt-4o', 'modèle'],
    ['~!@#$%^&*()_+{}|:"<>?'],
    Array.from({ length: 100 }, (_, i) => `m${i}`),
    Array.from({ length: 101 }, (_, i) => `m${i}`),
  ];
  for (const list of lists) {
    it(`${JSON.stringify(list).slice(0, 60)}`, () => {
      expect(modelsIssue(list) === null).toBe(apiAccepts({ allowedModels: list }));
    });
  }

  it('reads one glob per line, trimmed, without blank lines (which the API would refuse as empty)', () => {
    expect(modelLines('gpt-4o*\r\n\n   o?-mini  \n')).toEqual(['gpt-4o*', 'o?-mini']);
    expect(modelsIssue(modelLines('fake-claude*\nfake gpt'))).toBe(
      'model 2 ("fake gpt"): a model glob is printable ASCII without spaces',
    );
  });
});

describe('stream bounds: seconds in the form, the API’s milliseconds and range', () => {
  for (const seconds of [
    '0.999',
    '1',
    '1.5',
    '90',
    '3600',
    '3600.001',
    '0',
    '-5',
    '',
    'abc',
    '1e3',
    'Infinity',
  ]) {
    it(`"${seconds}" s`, () => {
      const verdict = timeoutMs(seconds);
      if ('ms' in verdict) {
        expect(apiAccepts({ streamIdleTimeoutMs: verdict.ms, heldStreamTimeoutMs: verdict.ms })).toBe(true);
      } else {
        const ms = Number(seconds) * 1000;
        expect(seconds.trim() === '' || !apiAccepts({ streamIdleTimeoutMs: ms })).toBe(true);
      }
    });
  }

  it('shows the API’s defaults, and a stored value round-trips', () => {
    const defaults = connectionSettingsSchema.parse({});
    expect([defaults.streamIdleTimeoutMs, defaults.heldStreamTimeoutMs]).toEqual([
      DEFAULT_STREAM_IDLE_MS,
      DEFAULT_HELD_STREAM_MS,
    ]);
    for (const ms of [1000, 1500, 90_000, 570_000, 3_600_000])
      expect(timeoutMs(secondsOf(ms))).toEqual({ ms });
  });
});
