/**
 * The audit export as a stream: NDJSON (one event a line, exactly the API's JSON) or CSV. Pages
 * are pulled from D1 only as the client reads, so an export of millions of rows holds one page in
 * memory and a client that stops reading stops the queries.
 */
import type { AuditEventDto, ExportFormat } from './audit.schemas.js';

export const CSV_COLUMNS = [
  'id',
  'createdAt',
  'type',
  'action',
  'orgId',
  'connectionId',
  'connectionSlug',
  'sessionId',
  'mcpSessionId',
  'apiKeyId',
  'actor',
  'user',
  'traceId',
  'method',
  'tool',
  'ruleIndex',
  'policyVersion',
  'upstreamStatus',
  'latencyMs',
  'errorCode',
  'outcome',
  'model',
  'inputTokens',
  'cachedInputTokens',
  'outputTokens',
  'reasoningTokens',
  'costUsd',
  'metadataError',
  'metadata',
  'details',
] as const satisfies ReadonlyArray<keyof AuditEventDto>;

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/**
 * One CSV field (RFC 4180). Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR at
 * the start) gets a leading apostrophe: user names and metadata are caller-supplied, and an export
 * is exactly what someone opens in a spreadsheet. Numbers are written as they are.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(event: AuditEventDto): string {
  return `${CSV_COLUMNS.map((column) => csvField(event[column])).join(',')}\r\n`;
}

export function ndjsonRow(event: AuditEventDto): string {
  return `${JSON.stringify(event)}\n`;
}

/** A byte stream of the export, pulling the next page only when the client has read the last. */
export function exportStream(
  pages: AsyncIterator<AuditEventDto[]>,
  format: ExportFormat,
  onError: (err: unknown) => void = () => {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const encode = format === 'csv' ? csvRow : ndjsonRow;
  let started = false;
  // A client that goes away while a page is read: the enqueue after it throws, and that is not a
  // failure of the export (it was logged as one, an error line per abandoned download).
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!started && format === 'csv') controller.enqueue(encoder.encode(csvHeader()));
          started = true;
          const next = await pages.next();
          if (next.done) {
            controller.close();
            return;
          }
          controller.enqueue(encoder.encode(next.value.map(encode).join('')));
        } catch (err) {
          if (cancelled) return;
          // Headers are long gone: the only honest signal left is to break the stream, so the
          // client sees a failed download rather than a silently short file.
          onError(err);
          controller.error(err);
        }
      },
      async cancel() {
        cancelled = true;
        await pages.return?.(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
