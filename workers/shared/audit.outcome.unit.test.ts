import { describe, expect, it } from 'vitest';
import { auditOutcome, isLifecycle } from './audit.outcome.ts';

const call = (action: string, upstreamStatus: number | null, errorCode: string | null = null) => ({
  type: 'tool_call',
  action,
  upstreamStatus,
  errorCode,
});

describe('auditOutcome', () => {
  it('tells a forwarded success from an upstream failure (the decision alone does not)', () => {
    expect(auditOutcome(call('allow', 200))).toBe('ok');
    expect(auditOutcome(call('pass', 202))).toBe('ok');
    expect(auditOutcome(call('allow', 500))).toBe('upstream_error');
    expect(auditOutcome(call('pass', 503))).toBe('upstream_error');
    expect(auditOutcome(call('allow', null, 'upstream_unreachable'))).toBe('upstream_error');
    // An answer the gateway cut (too large to inspect) failed, though its status was 200.
    expect(auditOutcome(call('allow', 200, 'upstream_too_large'))).toBe('upstream_error');
    expect(auditOutcome(call('alert', null, 'upstream_timeout'))).toBe('timeout');
    expect(auditOutcome(call('allow', 404))).toBe('upstream_rejected');
    expect(auditOutcome(call('allow', null, 'outcome_unknown'))).toBe('outcome_unknown');
  });

  it('calls refused by the gateway are refused; rows that are not calls have none', () => {
    expect(auditOutcome(call('deny', null, 'policy_denied'))).toBe('refused');
    expect(auditOutcome(call('killed', null, 'session_suspended'))).toBe('refused');
    expect(auditOutcome({ type: 'admin', action: 'policy.update' })).toBeNull();
    expect(auditOutcome({ type: 'anomaly', action: 'rate_spike' })).toBeNull();
  });
});

describe('isLifecycle', () => {
  it('is the handshake, pings, notifications and the transport rows — never real work', () => {
    for (const method of ['initialize', 'ping', 'notifications/initialized', 'notifications/cancelled'])
      expect(isLifecycle({ type: 'request', method, action: 'pass' })).toBe(true);
    expect(isLifecycle({ type: 'request', method: null, action: 'pass' })).toBe(true); // GET stream
    for (const method of ['tools/call', 'tools/list', 'resources/read'])
      expect(isLifecycle({ type: 'tool_call', method, action: 'allow' })).toBe(false);
    expect(isLifecycle({ type: 'request', method: null, action: 'unauthenticated' })).toBe(false);
    expect(isLifecycle({ type: 'anomaly', method: 'initialize', action: 'rate_spike' })).toBe(false);
  });
});
