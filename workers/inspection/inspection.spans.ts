/**
 * `text` with each finding's span replaced by a label (overlapping spans merged). Pure. Used where
 * a location is reported (inspection.findings.ts, `[ruleId]`) and where caller text is echoed
 * (lib/echo.safe.ts, `[redacted]`): one way of cutting spans out, so the two cannot drift.
 */
import type { Finding } from './inspection.engine';

export function maskSpans(
  text: string,
  found: readonly Finding[],
  label: (finding: Finding) => string,
): string {
  if (found.length === 0) return text;
  const spans = [...found].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const f of spans) {
    if (f.end <= at) continue;
    out += `${text.slice(at, Math.max(at, f.start))}${label(f)}`;
    at = f.end;
  }
  return out + text.slice(at);
}
