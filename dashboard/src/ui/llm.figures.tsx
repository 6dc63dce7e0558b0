/** Tokens and cost of LLM calls, as audit rows and the usage screen show them. */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function formatTokens(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : integer.format(value);
}

/** USD: cents for sums of a dollar or more, three significant digits below ($0.024, $0.000123). */
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'unpriced';
  if (value === 0) return '$0';
  if (value >= 1) return `$${value.toFixed(2)}`;
  return `$${Number(value.toPrecision(3)).toFixed(Math.max(2, 2 - Math.floor(Math.log10(value))))}`.replace(
    /(\.\d{2}\d*?)0+$/,
    '$1',
  );
}

export interface LlmCallFields {
  model: string | null;
  inputTokens: number | null;
  cachedInputTokens: number | null;
  outputTokens: number | null;
  reasoningTokens: number | null;
  costUsd: number | null;
}

/** One line under an audit row's method: model, tokens in → out, and cost (or "unpriced"). */
export function LlmCallLine({ call }: { call: LlmCallFields }) {
  if (call.model === null) return null;
  const tokens = call.inputTokens !== null || call.outputTokens !== null;
  return (
    <span className="llm-call small" data-testid="llm-call">
      <span className="mono">{call.model}</span>
      {tokens ? (
        <span className="muted">
          {' · '}
          {formatTokens(call.inputTokens)} in
          {call.cachedInputTokens ? ` (${formatTokens(call.cachedInputTokens)} cached)` : ''}
          {' → '}
          {formatTokens(call.outputTokens)} out
        </span>
      ) : null}
      <span className={call.costUsd === null ? 'muted' : undefined}>{` · ${formatUsd(call.costUsd)}`}</span>
    </span>
  );
}
