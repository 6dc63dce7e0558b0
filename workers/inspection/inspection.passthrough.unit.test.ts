/**
 * Passthrough request inspection, pure (inspection.passthrough.ts, inspection.passthrough.read.ts):
 * how a body is read into texts (JSON, JSON lines, text, forms, the query), where each finding is
 * located, the bounds and repeated keys refused, and the verdicts — block refuses, redact rewrites
 * a JSON body and a form's text field values and refuses everywhere else, a redaction that could
 * not be whole refuses.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import { builtinPacks, builtinRules } from './inspection.builtin';
import { compileRules } from './inspection.engine';
import { inspectPassthrough } from './inspection.passthrough';
import {
  type FormPart,
  type InspectableBody,
  inspectableBody,
  MAX_FORM_PARTS,
  MAX_INSPECTED_BYTES,
  passthroughPieces,
} from './inspection.passthrough.read';
import { scannableText, unicodeText, utf8Text } from './inspection.passthrough.text';
import type { Overrides } from './inspection.schema';
import type { CallInspection } from './inspection.types';

const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const EMAIL = 'jane.doe@example.com';
const enc = (s: string) => new TextEncoder().encode(s);

const body = (type: string, parts: FormPart[] | null = null, search = ''): InspectableBody => ({
  search,
  type,
  parts,
  fault: null,
});

function inspection(overrides?: Overrides): CallInspection {
  return {
    engine: compileRules(
      builtinRules(),
      ['secrets-default', 'llm-compliance-gdpr'].map((name) => builtinPacks().get(name)!),
      overrides,
    ),
    redactResults: true,
    found: [],
    session: null,
  };
}
const blocking = () => inspection({ categories: { secret: 'block' } });

function verdict(insp: CallInspection, raw: string | Uint8Array | null, b: InspectableBody) {
  const bytes = typeof raw === 'string' ? enc(raw) : raw;
  return inspectPassthrough(
    insp,
    { endpoint: 'passthrough', forwarded: { target: 'POST /x', raw: bytes }, inspectable: b },
    0,
  );
}

const prefixes = (raw: string, b: InspectableBody) =>
  passthroughPieces(enc(raw), b).pieces.map((p) => `${p.kind} ${p.prefix}`);

/** Binary: every byte ≥ 0x80 in no valid UTF-8 order, a replacement character in every few. */
const binary = (n = 256) => Uint8Array.from({ length: n }, (_, i) => 0x80 | ((i * 37) & 0x7f));

describe('reading a passthrough request into texts', () => {
  it('reads a JSON body as one value, whatever its type, and JSON lines line by line', () => {
    expect(prefixes('{"a": "b"}', body('text/plain'))).toEqual(['json $']);
    expect(prefixes('{"a":1}\n\n{"b":2}\r\n', body('application/jsonl'))).toEqual([
      'json line 1 $',
      'json line 3 $',
    ]);
    // One line that is not JSON: the whole text, once.
    expect(prefixes('{"a":1}\nnot json\n{"b":2}', body('application/jsonl'))).toEqual(['text body']);
  });

  it('reads a form field by field, the query parameter by parameter, naming odd names by position', () => {
    expect(
      prefixes('purpose=batch&x%20y=1', body('application/x-www-form-urlencoded', null, '?limit=2')),
    ).toEqual(['text query limit', 'text field purpose', 'text field #2']);
  });

  it('reads a multipart part by part: text fields, UTF-8 files as JSON lines, not binary files', () => {
    const parts: FormPart[] = [
      { name: 'purpose', filename: null, value: 'batch' },
      { name: 'file', filename: 'b.jsonl', value: enc('{"a":1}\n{"b":2}\n') },
      { name: 'one', filename: 'o.jsonl', value: enc('{"a":1}\n') },
      { name: 'image', filename: 'i.png', value: binary() },
    ];
    expect(
      passthroughPieces(enc('ignored'), body('multipart/form-data', parts)).pieces.map(
        (p) => `${p.kind} ${p.prefix}`,
      ),
    ).toEqual([
      'text part purpose header',
      'text part purpose',
      'text part file header',
      'json part file line 1 $',
      'json part file line 2 $',
      'text part one header',
      'json part one line 1 $',
      'text part image header',
    ]);
  });

  it('takes UTF-8 cut at the edges of a piece (an upload part) as text, and refuses nothing else as text', () => {
    const text = enc('é key é');
    expect(utf8Text(text.subarray(1, text.length - 1))).toBe(' key ');
    expect(utf8Text(new Uint8Array([0x61, 0xff, 0x62]))).toBeNull();
    expect(utf8Text(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0xff, 0x1a]))).toBeNull();
  });

  it('reads UTF-16 and UTF-32 as a JSON parser given bytes would: by byte-order mark or NUL pattern', () => {
    const text = '{"m":"café AKIA"}';
    const le16 = new Uint8Array(text.length * 2);
    for (let i = 0; i < text.length; i++) le16[i * 2] = text.charCodeAt(i);
    const be16 = le16.map((_, i) => le16[i ^ 1]!);
    const be32 = new Uint8Array(text.length * 4);
    for (let i = 0; i < text.length; i++) be32[i * 4 + 3] = text.charCodeAt(i);
    expect(unicodeText(le16)).toBe(text);
    expect(unicodeText(be16)).toBe(text);
    expect(unicodeText(new Uint8Array([0xff, 0xfe, ...le16]))).toBe(text);
    expect(unicodeText(new Uint8Array([0xfe, 0xff, ...be16]))).toBe(text);
    expect(unicodeText(be32)).toBe(text);
    expect(unicodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...enc(text)]))).toBe(text);
    // An MP4 header (00 00 00 18 'ftyp'): no UTF-32 code point, so not text.
    expect(unicodeText(new Uint8Array([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]))).toBeNull();
    // A UTF-16 JSON body is read as JSON, and its secret found.
    const v = verdict(blocking(), le16, body('application/json'));
    expect(v.refusal).toBeNull(); // 'AKIA' alone is no key: only the reading is under test here
    const key = `{"m":"${AWS_KEY}"}`;
    const keyLe = new Uint8Array(key.length * 2);
    for (let i = 0; i < key.length; i++) keyLe[i * 2] = key.charCodeAt(i);
    expect(verdict(blocking(), keyLe, body('application/json')).refusal?.details).toMatchObject({
      location: '$.m',
    });
  });

  it('refuses a JSON text that repeats a key, a body over the cap, too many parts, too deep or too many values', () => {
    const fault = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof AppError ? err.code : 'other';
      }
      return null;
    };
    expect(fault(() => passthroughPieces(enc('{"m":"a","m":"b"}'), body('application/json')))).toBe(
      'validation_failed',
    );
    expect(
      fault(() => passthroughPieces(enc('{"m":"a\\"","n":"\\\\"}'), body('application/json'))),
    ).toBeNull();
    expect(fault(() => passthroughPieces(enc('{"a":1}\n{"k":1,"k":2}'), body('application/jsonl')))).toBe(
      'validation_failed',
    );
    expect(
      fault(() => passthroughPieces(enc(`${'['.repeat(40)}${']'.repeat(40)}`), body('application/json'))),
    ).toBe('payload_too_large');
    expect(
      fault(() =>
        passthroughPieces(enc(JSON.stringify(new Array(100_001).fill('a'))), body('application/json')),
      ),
    ).toBe('payload_too_large');
    // Values that are not strings cost no scan: a long array of numbers is read.
    expect(
      fault(() =>
        passthroughPieces(enc(JSON.stringify(new Array(200_000).fill(0))), body('application/json')),
      ),
    ).toBeNull();
    const query = `?${Array.from({ length: MAX_FORM_PARTS + 1 }, (_, i) => `q${i}=1`).join('&')}`;
    expect(fault(() => passthroughPieces(null, body('', null, query)))).toBe('payload_too_large');
  });
});

describe('the verdict on a passthrough request', () => {
  it('refuses a blocked value with its location, under the JSON path of a Message Batch', () => {
    const batch = {
      requests: [{ custom_id: 'a', params: { messages: [{ role: 'user', content: AWS_KEY }] } }],
    };
    const v = verdict(blocking(), JSON.stringify(batch), body('application/json'));
    expect(v.refusal?.code).toBe('content_blocked');
    expect(v.refusal?.details).toMatchObject({ location: '$.requests[0].params.messages[0].content' });
    expect(v.forward).toBeNull();
    expect(v.findings.map((f) => (f.detail as { location: string }).location)).toEqual([
      '$.requests[0].params.messages[0].content',
    ]);
  });

  it('rewrites a JSON body with placeholders, the same value the same placeholder', () => {
    const sent = { a: `to ${EMAIL}`, b: [EMAIL, 'plain'] };
    const insp = inspection();
    const v = verdict(insp, JSON.stringify(sent), body('application/json'));
    expect(v.refusal).toBeNull();
    expect(JSON.parse(new TextDecoder().decode(v.forward!))).toEqual({
      a: 'to [EMAIL_1]',
      b: ['[EMAIL_1]', 'plain'],
    });
    expect(insp.session?.mapping.get('[EMAIL_1]')).toBe(EMAIL);
  });

  it('refuses a value to redact where it cannot be masked: JSON lines, text, a field name, a decided field, the query, a key', () => {
    const cases: Array<[string, InspectableBody, string]> = [
      [`{"a":1}\n{"m":"${EMAIL}"}`, body('application/jsonl'), 'line 2 $.m'],
      [`write ${EMAIL}`, body('text/plain'), 'body'],
      // A form's field named by the value, and a field the call is decided on (model, purpose).
      [`${encodeURIComponent(EMAIL)}=1`, body('application/x-www-form-urlencoded'), 'field #1'],
      [`model=${encodeURIComponent(EMAIL)}`, body('application/x-www-form-urlencoded'), 'field model'],
      ['{}', body('application/json', null, `?to=${EMAIL}`), 'query to'],
      // A key that is the value is shown as its rule (reportedLocation), never as itself.
      [`{"${EMAIL}": 1}`, body('application/json'), '$["[pii.email]"]~key'],
    ];
    for (const [raw, b, location] of cases) {
      const v = verdict(inspection(), raw, b);
      expect(v.refusal?.code, raw).toBe('inspection_unmaskable');
      expect(v.refusal?.details, raw).toMatchObject({ ruleId: 'pii.email', location });
      expect(v.refusal?.message, raw).not.toContain(EMAIL);
      expect(JSON.stringify(v.refusal?.details), raw).not.toContain(EMAIL);
      expect(v.forward, raw).toBeNull();
    }
  });

  it("masks a form's text field: a URL-encoded form re-encoded, a multipart one's values by entry", () => {
    const insp = inspection();
    const url = verdict(
      insp,
      `purpose=fine-tune&note=${encodeURIComponent(`to ${EMAIL}`)}&other=${encodeURIComponent(EMAIL)}`,
      body('application/x-www-form-urlencoded'),
    );
    expect(url.refusal).toBeNull();
    expect([...new URLSearchParams(new TextDecoder().decode(url.forward!))]).toEqual([
      ['purpose', 'fine-tune'],
      ['note', 'to [EMAIL_1]'],
      ['other', '[EMAIL_1]'],
    ]);
    expect(insp.session?.mapping.get('[EMAIL_1]')).toBe(EMAIL);
    expect(url.findings.map((f) => f.detail)).toContainEqual(
      expect.objectContaining({ location: 'field note' }),
    );
    const parts: FormPart[] = [
      { name: 'purpose', filename: null, value: 'fine-tune' },
      { name: 'note', filename: null, value: `mail ${EMAIL}` },
      { name: 'file', filename: 'a.bin', value: binary() },
    ];
    const multi = verdict(inspection(), null, body('multipart/form-data', parts));
    expect(multi.refusal).toBeNull();
    expect(multi.forward).toBeNull();
    expect([...multi.formFields!]).toEqual([[1, 'mail [EMAIL_1]']]);
    // A file part's text, and a part's filename, are still not masked.
    for (const part of [
      { name: 'file', filename: 'a.txt', value: enc(`mail ${EMAIL}`) },
      { name: 'file', filename: `${EMAIL}.txt`, value: binary() },
    ]) {
      const v = verdict(inspection(), null, body('multipart/form-data', [part]));
      expect(v.refusal?.code).toBe('inspection_unmaskable');
      expect(v.formFields).toBeNull();
    }
  });

  it('refuses a string holding as many values of one rule as a scan reports: more may be left unmasked', () => {
    const many = Array.from({ length: 40 }, (_, i) => `user${i}@example.com`).join(' ');
    const v = verdict(inspection(), JSON.stringify({ m: many }), body('application/json'));
    expect(v.refusal?.code).toBe('inspection_unmaskable');
  });

  it('reads text with stray undecodable bytes as text: a byte put in front of a key does not make it binary', () => {
    const stray = new Uint8Array([0xff, ...enc(`the key ${AWS_KEY}`), 0xfe]);
    expect(verdict(blocking(), stray, body('application/octet-stream')).refusal?.code).toBe(
      'content_blocked',
    );
    const file: FormPart = { name: 'file', filename: 'notes.txt', value: stray };
    expect(verdict(blocking(), stray, body('multipart/form-data', [file])).refusal?.code).toBe(
      'content_blocked',
    );
    // Text with one stray byte in a hundred characters is still text; binary is not.
    expect(
      scannableText(
        new Uint8Array([...enc('a'.repeat(1000)), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      ),
    ).not.toBeNull();
    expect(scannableText(binary())).toBeNull();
  });

  it('counts only the text of a form against the inspection cap: a large binary file is not read, large text is refused', async () => {
    const audio = new Uint8Array(MAX_INSPECTED_BYTES + 1024).map((_, i) => 0x80 | ((i * 37) & 0x7f));
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob([audio]), 'speech.mp3');
    expect((await inspectableBody(audio, '', 'multipart/form-data', form)).fault).toBeNull();
    const text = new FormData();
    text.append('file', new Blob(['a'.repeat(MAX_INSPECTED_BYTES + 1)]), 'notes.txt');
    const big = enc('a'.repeat(MAX_INSPECTED_BYTES + 1));
    expect((await inspectableBody(big, '', 'multipart/form-data', text)).fault?.code).toBe(
      'payload_too_large',
    );
    expect((await inspectableBody(big, '', 'text/plain', null)).fault?.code).toBe('payload_too_large');
    expect((await inspectableBody(audio, '', 'application/octet-stream', null)).fault).toBeNull();
  });

  it('passes binary bytes unscanned, and refuses a body over the cap or one not prepared', () => {
    const bytes = new Uint8Array([...binary(), ...enc(AWS_KEY)]);
    expect(verdict(blocking(), bytes, body('application/octet-stream'))).toEqual({
      findings: [],
      refusal: null,
      forward: null,
      formFields: null,
    });
    const big = { ...body('text/plain'), fault: new AppError('payload_too_large') };
    expect(verdict(blocking(), 'x', big).refusal?.code).toBe('payload_too_large');
    expect(MAX_INSPECTED_BYTES).toBe(4 * 1024 * 1024);
    const unprepared = inspectPassthrough(
      blocking(),
      { endpoint: 'passthrough', forwarded: { target: 'POST /x', raw: enc('x') } },
      0,
    );
    expect(unprepared.refusal?.code).toBe('internal');
  });

  it('a part or parameter named by a secret is reported as its rule, in findings and refusals', () => {
    const part = (value: string | Uint8Array): FormPart => ({ name: AWS_KEY, filename: null, value });
    const cases: Array<[InspectableBody, string]> = [
      [body('multipart/form-data', [part('hello')]), 'part [secret.aws_access_key_id] header'],
      [body('application/json', null, `?${AWS_KEY}=1`), 'query [secret.aws_access_key_id]'],
      // A refusal of the reading itself (a repeated key in the part's JSON) names the part too.
      [body('multipart/form-data', [part(enc('{"m":1,"m":2}'))]), 'part [secret.aws_access_key_id]'],
    ];
    for (const [b, location] of cases) {
      const v = verdict(blocking(), '{}', b);
      expect(v.refusal, location).not.toBeNull();
      expect(JSON.stringify(v.refusal?.details), location).toContain(location);
      expect(JSON.stringify([v.refusal?.details, v.findings]), location).not.toContain(AWS_KEY);
    }
  });

  it('two keys masked to one name: the refusal shows the address in the key as its rule', () => {
    const raw = JSON.stringify({ '[EMAIL_1] of team': 1, [`${EMAIL} of team`]: 2 });
    const v = verdict(inspection(), raw, body('application/json'));
    expect(v.refusal?.code).toBe('inspection_unmaskable');
    expect(v.refusal?.details).toMatchObject({ location: '$["[pii.email] of team"]~key' });
    expect(JSON.stringify([v.refusal?.details, v.findings])).not.toContain(EMAIL);
  });
});
