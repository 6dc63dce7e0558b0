/**
 * The detection engine's contract (inspection.engine.ts builds it): what a scan returns, how a scan
 * is bounded, and the Engine every stage, the redaction and the scan API call. Pure.
 */
import type { EncodingKind } from './inspection.decode.js';
import type { Action, Category, Severity, Where } from './inspection.schema.js';

export interface Finding {
  ruleId: string;
  category: Category;
  severity: Severity;
  action: Action;
  /** [start, end) in the scanned string (for scanJson: in the string at `location`). */
  start: number;
  end: number;
  /** The redactor's placeholder type (`EMAIL` → `[EMAIL_1]`). */
  placeholder: string;
  /** Set when found inside decoded content: the decodings, outermost first. */
  encoding?: EncodingKind[];
  /** scanJson: the JSON path of the string (or key) the finding is in, e.g. `$.args.query`. */
  location?: string;
  /**
   * Set when the finding's rule reached its per-scan cap in this text (`maxFindingsPerRule`): more
   * of its values may be left unreported. Masking must not trust the findings alone then: it takes
   * every span from `Engine.redactSpans` (the cap bounds what is recorded, not what is masked).
   */
  more?: true;
}

export interface ScanLimits {
  /** Decoding depth (0: no decoding). */
  maxDecodeDepth: number;
  /** Findings per rule per scan. */
  maxFindingsPerRule: number;
  /** scanJson: nesting depth, nodes and total string characters walked. */
  maxJsonDepth: number;
  maxJsonNodes: number;
  maxJsonChars: number;
}

/**
 * The least overlap of a text scanned in pieces: rules without literals run their pattern over the
 * whole text, and a pattern's unbounded quantifiers are bounded to 256 (inspection.regex.ts).
 */
export const MIN_REACH = 1024;

export const DEFAULT_LIMITS: ScanLimits = {
  maxDecodeDepth: 2,
  maxFindingsPerRule: 32,
  maxJsonDepth: 32,
  maxJsonNodes: 20_000,
  maxJsonChars: 4 * 1024 * 1024,
};

export interface Engine {
  readonly ruleCount: number;
  /**
   * The longest stretch of text one finding can depend on (a rule's window around its longest
   * literal), at least MIN_REACH: a text scanned in pieces must overlap them by this much for a
   * match cut by a piece boundary to be whole in one scan (inspection.streams.ts).
   */
  readonly reach: number;
  scan(text: string, where: Where): Finding[];
  scanJson(value: unknown, where: Where): Finding[];
  /**
   * Every finding of the `redact` rules in `text`, none of them capped: what masking needs once a
   * scan said a rule reached its cap (`more`). As linear as `scan` (the cap bounds memory and the
   * audit record, not the work: windows merge, each character is read once per rule). Rules that
   * stay capped here (a `redact` rule fed by a normalisation signal) keep `more` when they reach it:
   * the caller refuses what it cannot mask whole.
   */
  redactSpans(text: string, where: Where): Finding[];
  /** About what the engine holds in memory, in bytes: its rules and the automata built so far. */
  approxBytes(): number;
}
