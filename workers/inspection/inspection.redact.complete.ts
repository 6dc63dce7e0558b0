/**
 * Complete masking (docs/detections.md#redaction-is-complete): a scan reports at most
 * `maxFindingsPerRule` (32) findings per rule per text — the cap bounds what is recorded (the audit
 * row, the risk score's input, memory), not what is masked. A text where a `redact` rule reached the
 * cap (its findings say `more`) held more values than were reported: masking only those forwarded
 * the rest in clear (40 addresses in one prompt: 8 of them). Here the spans of such a text are taken
 * again from `Engine.redactSpans`, an uncapped scan of the `redact` rules as linear as any scan, and
 * joined to the scan's own. A rule that stays capped even there (a `redact` rule fed by a
 * normalisation signal) cannot be masked whole: refused with `inspection_unmaskable` (422), never
 * forwarded half-masked. Pure.
 */
import { AppError } from '../lib/errors';
import type { Engine, Finding } from './inspection.engine';
import { reportedLocation, under } from './inspection.findings';
import type { RedactHooks } from './inspection.redact';
import type { Where } from './inspection.schema';

/** Whether masking `spans` needs the text scanned again: one of them reached its rule's cap. */
export function capped(spans: readonly Pick<Finding, 'more'>[]): boolean {
  return spans.some((f) => f.more);
}

/** The refusal of a value that cannot be masked whole: the rule and where, never the value. */
export function unmaskableError(engine: Engine, f: Partial<Finding>, where: Where, at: string): AppError {
  const location = reportedLocation(engine, where, at);
  return new AppError('inspection_unmaskable', {
    message: `Refused by content inspection: rule ${f.ruleId} (${f.category}) matched a value to redact that the gateway cannot mask whole`,
    details: { ruleId: f.ruleId, category: f.category, severity: f.severity, where, location },
  });
}

/**
 * The `redact` spans of `text` to mask: `spans` (one scan's, of this text), or when one of them
 * reached its cap, those and every span `engine.redactSpans` finds. Throws `inspection_unmaskable`
 * (at `location`) when a rule stays capped.
 */
export function wholeSpans<S extends Partial<Finding>>(
  engine: Engine,
  where: Where,
  text: string,
  spans: readonly S[],
  location: string,
): Array<S | Finding> {
  if (!capped(spans)) return [...spans];
  const all = engine.redactSpans(text, where);
  const still = all.find((f) => f.more);
  if (still) throw unmaskableError(engine, still, where, location);
  return [...spans, ...all];
}

/**
 * redactJson's hooks for a value scanned as `where` and found under `prefix` (`$.messages`): each
 * string or key whose spans reached a cap is scanned again whole, and what cannot be masked (a rule
 * still capped, two keys masked to one name) is refused with `inspection_unmaskable` at its path.
 */
export function maskingHooks(engine: Engine, where: Where, prefix: string): RedactHooks {
  return {
    complete: (text, spans, location) =>
      wholeSpans(engine, where, text, spans as Finding[], under(prefix, location)),
    refuse: (f, location) => unmaskableError(engine, f, where, under(prefix, location)),
  };
}
