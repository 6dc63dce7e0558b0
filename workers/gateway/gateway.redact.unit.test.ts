import { describe, expect, it } from 'vitest';
import { downstreamHeaders } from './gateway.forward.ts';
import {
  credentialForms,
  ERROR_BODY_CAP_BYTES,
  holdsCredential,
  REDACTED,
  readErrorBody,
  redactedErrorBody,
  redactText,
} from './gateway.redact.ts';

const SECRET = 'sk-live/a+b=c"d\\e f';

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

describe('credentialForms', () => {
  it('covers the credential as sent, percent- and form-encoded, and JSON-escaped, longest first', () => {
    const forms = credentialForms(SECRET);
    expect(forms).toContain(SECRET);
    expect(forms).toContain(encodeURIComponent(SECRET));
    expect(forms).toContain(new URLSearchParams({ c: SECRET }).toString().slice(2));
    expect(forms).toContain(JSON.stringify(SECRET).slice(1, -1));
    expect(forms).toContain(JSON.stringify(SECRET).slice(1, -1).replaceAll('/', '\\/'));
    expect([...forms].sort((a, b) => b.length - a.length)).toEqual(forms);
    expect(new Set(forms).size).toBe(forms.length);
  });

  it('adds the token of a stored "Basic …" / "Bearer …" value, and a Basic credential decoded', () => {
    const basic = `Basic ${btoa('alice:s3cret-pass')}`;
    expect(credentialForms(basic)).toEqual(
      expect.arrayContaining([btoa('alice:s3cret-pass'), 'alice:s3cret-pass']),
    );
    expect(credentialForms('Bearer tok-123456')).toContain('tok-123456');
  });

  it('leaves out forms too short to be a secret (they would mangle every header)', () => {
    expect(credentialForms('abc')).toEqual([]);
  });
});

describe('redactText', () => {
  it('replaces every form, every time, and nothing else', () => {
    const forms = credentialForms(SECRET);
    const text = [
      `Bearer ${SECRET}`,
      `url?key=${encodeURIComponent(SECRET)}`,
      `form ${new URLSearchParams({ c: SECRET }).toString().slice(2)}`,
      JSON.stringify({ message: `invalid key ${SECRET}` }),
      `again ${SECRET}`,
    ].join('\n');
    const out = redactText(text, forms);
    for (const form of forms) expect(out).not.toContain(form);
    expect(out.split(REDACTED)).toHaveLength(6);
    expect(out).toContain('url?key=');
    expect(JSON.parse(out.split('\n')[3]!)).toEqual({ message: `invalid key ${REDACTED}` });
  });

  it('is the text itself without forms', () => {
    expect(redactText('no secret here', [])).toBe('no secret here');
  });
});

describe('downstreamHeaders with the credential', () => {
  it('redacts it from every value and drops a header whose name holds it', () => {
    const forms = credentialForms('cred-0123456789');
    const out = downstreamHeaders(
      new Headers({
        'Content-Type': 'application/json',
        'X-Debug-Auth': 'Bearer cred-0123456789',
        'X-Debug-Url': 'https://up.test/?key=cred-0123456789&x=1',
        'X-cred-0123456789': '1',
      }),
      forms,
    );
    expect(out).toEqual({
      'content-type': 'application/json',
      'x-debug-auth': `Bearer ${REDACTED}`,
      'x-debug-url': `https://up.test/?key=${REDACTED}&x=1`,
    });
    expect(holdsCredential('x-cred-0123456789', forms)).toBe(true);
  });
});

describe('redactedErrorBody', () => {
  const forms = credentialForms('cred-0123456789');

  it('redacts a credential split across chunks', async () => {
    const body = await redactedErrorBody(
      streamOf('{"error":"invalid key: Bearer cred-01', '23456789"}'),
      forms,
      1000,
    );
    expect(body).toBe(`{"error":"invalid key: Bearer ${REDACTED}"}`);
  });

  it('truncates past the cap, leaving no start of a credential the cut split', async () => {
    const filler = 'x'.repeat(ERROR_BODY_CAP_BYTES - 5);
    const body = await redactedErrorBody(
      streamOf(filler, 'cred-0123456789', 'y'.repeat(10_000)),
      forms,
      1000,
    );
    expect(body).toBe(filler); // the 5 bytes of the credential that fit are cut too
  });

  it('reads a body of exactly the cap as whole, and one byte more as cut', async () => {
    const exact = await readErrorBody(
      streamOf('x'.repeat(ERROR_BODY_CAP_BYTES - 10), 'y'.repeat(10)),
      [],
      1000,
    );
    expect(exact.cut).toBeNull();
    expect(exact.bytes.byteLength).toBe(ERROR_BODY_CAP_BYTES);
    const over = await readErrorBody(streamOf('x'.repeat(ERROR_BODY_CAP_BYTES), 'y'), [], 1000);
    expect(over.cut).toBe('cap');
    expect(over.bytes.byteLength).toBe(ERROR_BODY_CAP_BYTES);
  });

  it('stops waiting for a body that stalls, passing on what came', async () => {
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"error":"cred-0123456789 denied", '));
      },
      cancel() {
        cancelled = true;
      },
    });
    const body = await redactedErrorBody(stalled, forms, 50);
    expect(body).toBe(`{"error":"${REDACTED} denied", `);
    expect(body).not.toContain('cred-0123456789');
    expect(cancelled).toBe(true);
  });
});
