import { describe, expect, it } from 'vitest';
import { AppError, jsonRpcErrorBody } from '../lib/errors.js';

describe('approval_required on the wire', () => {
  const err = new AppError('approval_required', {
    message: 'Approval required: …',
    details: { approvalId: 'apr_x', approvalUrl: 'https://igris.example/approvals/apr_x', tool: 'transfer' },
  });

  it('is a JSON-RPC server error naming the approval at the top of data (MCP, A2A)', () => {
    const body = jsonRpcErrorBody(err, 7, 'trace-1');
    expect(body.error.code).toBe(-32015);
    expect(body.error.code).toBeLessThanOrEqual(-32000);
    expect(body.error.code).toBeGreaterThanOrEqual(-32099);
    expect(body.error.data).toEqual({
      code: 'approval_required',
      traceId: 'trace-1',
      approvalId: 'apr_x',
      approvalUrl: 'https://igris.example/approvals/apr_x',
      details: err.details,
    });
  });

  it('leaves other errors’ data as it was', () => {
    const denied = jsonRpcErrorBody(
      new AppError('policy_denied', { details: { approvalId: 'apr_y' } }),
      1,
      undefined,
    );
    expect(denied.error.data).toEqual({ code: 'policy_denied', details: { approvalId: 'apr_y' } });
  });
});
