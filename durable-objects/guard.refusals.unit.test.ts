import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import type { AdmitResult } from './guard.contract.ts';
import { refuseByVerdict } from './guard.refusals.ts';
import type { KillRecord } from './kill.match.ts';

const row = () =>
  ({
    id: 'e1',
    type: 'a2a_call',
    action: 'allow',
    errorCode: null,
    details: { a2aMethod: 'SendMessage' },
  }) as AuditEventInsert;
const admitted: AdmitResult = { verdict: 'admit', sessionId: 's' };
const kill = { id: 'ks_1', scope: 'connection' } as KillRecord;

describe('refuseByVerdict', () => {
  it('writes each refusing verdict on the row, keeping what the row said', () => {
    const cases: Array<[AdmitResult, Partial<AuditEventInsert>, Record<string, unknown>]> = [
      [
        { verdict: 'task_unknown', sessionId: 's' },
        { action: 'deny', errorCode: 'task_not_found' },
        { reason: 'task_access' },
      ],
      [
        { verdict: 'context_unknown', sessionId: 's' },
        { action: 'deny', errorCode: 'context_not_found' },
        { reason: 'context_access' },
      ],
      [
        {
          verdict: 'rate_limited',
          sessionId: 's',
          ruleIndex: 1,
          retryAfterSeconds: 2,
          limit: 3,
          windowSeconds: 60,
        },
        { action: 'rate_limited', errorCode: 'rate_limited' },
        { ruleIndex: 1, retryAfterSeconds: 2, limit: 3, windowSeconds: 60 },
      ],
    ];
    for (const [result, fields, why] of cases) {
      const r = row();
      refuseByVerdict(r, result, null, null);
      expect(r).toMatchObject(fields);
      expect(r.details).toEqual({ a2aMethod: 'SendMessage', ...why });
    }
  });

  it('a kill switch wins, then session taint; an admitted row is left as it is', () => {
    const killed = row();
    refuseByVerdict(killed, { verdict: 'context_unknown', sessionId: 's' }, kill, ['pii']);
    expect(killed).toMatchObject({ action: 'killed', errorCode: 'session_suspended' });
    expect(killed.details).toMatchObject({ killSwitchId: 'ks_1', scope: 'connection' });
    const tainted = row();
    refuseByVerdict(tainted, { verdict: 'task_unknown', sessionId: 's' }, null, ['pii']);
    expect(tainted).toMatchObject({ action: 'deny', errorCode: 'policy_denied' });
    expect(tainted.details).toMatchObject({ reason: 'session taint', taint: ['pii'] });
    const untouched = row();
    refuseByVerdict(untouched, admitted, null, null);
    expect(untouched).toEqual(row());
  });
});
