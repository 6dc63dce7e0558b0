/** An A2A call's audit row names a refusal the way MCP and LLM rows do: a denial is `deny`. */
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../db/schema';
import { AppError, type ErrorCode } from '../lib/errors';
import { type A2aUnit, a2aAuditRow } from './a2a.stages';

const unit: A2aUnit = {
  message: { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} },
  method: 'SendMessage',
  canonical: 'SendMessage',
  skill: 'echo',
  taskId: null,
  addressed: null,
  contexts: null,
  allowedTeams: [],
};
const base = { id: 'e1', orgId: 'o', type: 'a2a_call', action: 'pass', createdAt: 0 } as AuditEventInsert;
const actionOf = (code: ErrorCode) =>
  a2aAuditRow(base, { unit, tool: 'echo', decision: null, refusal: new AppError(code) }).action;

describe('A2A audit row action', () => {
  it('records the refusals the gateway decided as deny, as MCP (DENIALS) and LLM rows do', () => {
    for (const code of [
      'policy_denied',
      'connection_forbidden',
      'content_blocked',
      'inspection_unmaskable',
    ] as const)
      expect(actionOf(code), code).toBe('deny');
  });

  it('records other refusals as error, and a held call as approval_required', () => {
    expect(actionOf('method_not_found')).toBe('error');
    expect(actionOf('validation_failed')).toBe('error');
    expect(actionOf('approval_required')).toBe('approval_required');
  });
});
