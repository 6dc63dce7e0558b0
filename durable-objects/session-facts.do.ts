/**
 * SessionFacts — the organization's agent-session store (issue 22): one object per linked agent
 * session (`sessionFactsFor(env, orgId, session)`, do.client.ts; named `<orgId>:<session>`, and the
 * session id starts with the caller's API key id, so neither another organization nor another key
 * ever reaches the same object). It holds what the session's calls on *every* connection touched
 * and called, so a `cleanOf` or `session.*` condition on connection B sees what the session did on
 * connection A.
 *
 * Off the hot path: guards push newly recorded facts to it without holding the call (ctx.waitUntil,
 * session.taint.ts); the gateway reads it only for a call whose matched rule needs session facts
 * (gates or cleanOf) on a linked session — one extra round trip for those calls, none for others
 * (workers/gateway/gateway.session.ts). Bounded and expiring exactly like a guard's session facts
 * (session.taint.ts: TTL, labels and distinct tool names per session).
 */
import { DurableObject } from 'cloudflare:workers';
import type { SharedFacts } from './guard.contract';
import { SessionTaint } from './session.taint';

/**
 * The bounds a guard's facts keep (session.taint.ts), checked again here. Only this
 * organization's guards call `record`, with facts they wrote themselves, as often as once per
 * call: plain checks, not a schema parse (issue 20: no zod on the hot path for the gateway's own
 * data). Anything out of bounds is refused whole, as before.
 */
function checkedFacts(facts: SharedFacts): SharedFacts {
  return {
    labels: checkedList(facts?.labels, 'labels', 64),
    called: checkedList(facts?.called, 'called', 512),
  };
}

const MAX_FACTS = 200;

function checkedList(list: unknown, name: string, maxLength: number): string[] {
  if (!Array.isArray(list) || list.length > MAX_FACTS) {
    throw new TypeError(`session facts: ${name} must be a list of at most ${MAX_FACTS}`);
  }
  for (const value of list) {
    if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
      throw new TypeError(`session facts: ${name} entries must be strings of 1 to ${maxLength} characters`);
    }
  }
  return list as string[];
}

/** The only session this object holds (its name already says whose it is). */
const SELF = 'session';

export class SessionFacts extends DurableObject<Env> {
  readonly #taint: SessionTaint;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#taint = new SessionTaint(ctx.storage.sql);
  }

  /** Facts a guard newly recorded for this session (idempotent: re-recording refreshes them). */
  async record(facts: SharedFacts): Promise<void> {
    const parsed = checkedFacts(facts);
    this.#taint.add(
      { session: SELF, add: parsed.labels, called: parsed.called, cleanOf: [], ruleIndex: null },
      Date.now(),
    );
  }

  /** The session's live facts. */
  async facts(): Promise<SharedFacts> {
    return this.#taint.facts(SELF, Date.now());
  }
}
