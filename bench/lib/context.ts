/** What every suite gets from the runner. */
import type { Placement } from './procs.ts';
import type { BenchStack } from './stack.ts';

export interface BenchContext {
  quick: boolean;
  stack: BenchStack;
  /** The main benchmark connection (policy changed by the ladder; restored afterwards). */
  slug: string;
  connectionId: string;
  orgId: string;
  /** The upstream MCP session opened directly and reused through the gateway. */
  sessionId: string;
  log(message: string): void;
}

/** What a suite that starts a runtime of its own gets (breakdown, metrics, floor, gc). */
export interface RuntimeSuiteOptions {
  quick: boolean;
  placement: Placement;
  log: (m: string) => void;
}

/** quick or full value. */
export function pick<T>(ctx: Pick<BenchContext, 'quick'>, quick: T, full: T): T {
  return ctx.quick ? quick : full;
}
