import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CANCEL_PATHS, passthroughKind } from './llm.passthrough.ts';

describe('passthroughKind', () => {
  it.each([
    'POST /batches/batch_abc123/cancel',
    'POST /responses/resp_68af/cancel',
    'POST /fine_tuning/jobs/ftjob-abc123/cancel',
    'POST /threads/thread_1/runs/run_2/cancel',
    'POST /vector_stores/vs_1/file_batches/vsfb_2/cancel',
    'POST /messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/cancel',
    'POST /batches/batch_abc/cancel?api-version=2024-10-21',
  ])('%s is a cancel', (target) => {
    expect(passthroughKind(target)).toBe('cancel');
  });

  it.each(['GET /batches', 'GET /batches/batch_1', 'HEAD /files', 'DELETE /files/file-1'])(
    '%s only reads or removes',
    (target) => {
      expect(passthroughKind(target)).toBe('read');
    },
  );

  it.each([
    // creations
    'POST /batches',
    'POST /threads/thread_1/runs',
    'POST /threads/runs',
    'POST /realtime/sessions',
    'POST /fine_tuning/jobs',
    'POST /messages/batches',
    'PUT /batches/batch_1/cancel',
    'PATCH /batches/batch_1/cancel',
    'post /batches/batch_1/cancel',
    'OPTIONS /batches',
    // every other spelling of a cancel: case, trailing slash, empty, dot or encoded segments
    'POST /batches/batch_1/cancel/',
    'POST /batches/batch_1/Cancel',
    'POST /Batches/batch_1/cancel',
    'POST /batches/batch_1/CANCEL',
    'POST /batches/batch_1/%63ancel',
    'POST /batches//cancel',
    'POST //batches/batch_1/cancel',
    'POST /batches/batch_1//cancel',
    'POST /batches/./cancel',
    'POST /batches/../cancel',
    'POST /batches/%2E%2E/cancel',
    'POST /batches/a%2Fb/cancel',
    'POST /batches/batch%5F1/cancel',
    'POST /batches/batch 1/cancel',
    'POST /batches/batch_1;x/cancel',
    'POST /batches/batch_1/cancel/extra',
    'POST /v1/batches/batch_1/cancel',
    'POST /responses/resp_1/cancel?stream=true',
    'POST /batches/batch_1/cancel?api-version=1&x=2',
    'POST /batches/batch_1/cancel#frag',
    `POST /batches/${'a'.repeat(129)}/cancel`,
    // unreadable targets
    'POST',
    '',
  ])('%s may create work', (target) => {
    expect(passthroughKind(target)).toBe('work');
  });

  it('no target is work', () => {
    expect(passthroughKind(undefined)).toBe('work');
  });

  it('a POST judged a cancel ends in /cancel, starts with a listed family and has no empty, dot or encoded segment (ids may hold capitals)', () => {
    const heads = new Set(CANCEL_PATHS.map((p) => p.split('/')[1]));
    const part = fc.constantFrom(
      'batches',
      'cancel',
      'x_1',
      '',
      '.',
      '..',
      'runs',
      'Batches',
      'messages',
      '%2E',
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
        const path = `/${parts.join('/')}`;
        if (passthroughKind(`POST ${path}`) !== 'cancel') return;
        expect(path.endsWith('/cancel')).toBe(true);
        expect(parts[0]).toBe(parts[0]!.toLowerCase());
        expect(heads.has(parts[0]!)).toBe(true);
        const clean = (s: string) => s !== '' && s !== '.' && s !== '..' && !s.includes('%');
        expect(parts.every(clean)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
