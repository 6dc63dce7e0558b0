import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, csvField, csvHeader, exportStream } from './audit.export.ts';
import type { AuditEventDto } from './audit.schemas.ts';

/** A strict RFC 4180 reader for one line, to check what csvField writes reads back. */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else {
          value += line[i++];
        }
      }
      out.push(value);
    } else {
      const end = line.indexOf(',', i);
      out.push(line.slice(i, end < 0 ? line.length : end));
      i = end < 0 ? line.length : end;
    }
    if (line[i] !== ',') break;
    i++;
  }
  return out;
}

describe('csvField', () => {
  it('reads back as the same text (after the formula guard)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), (values) => {
        const line = values.map(csvField).join(',');
        const expected = values.map((v) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v));
        expect(parseCsvLine(line)).toEqual(expected);
      }),
    );
  });

  it('guards spreadsheet formulas in text, not numbers', () => {
    expect(csvField('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvField('@cmd')).toBe("'@cmd");
    expect(csvField('-1+1')).toBe("'-1+1");
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
    expect(csvField({ a: 'x,y' })).toBe('"{""a"":""x,y""}"');
  });

  it('has one header column per exported field', () => {
    expect(csvHeader()).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
    expect(new Set(CSV_COLUMNS).size).toBe(CSV_COLUMNS.length);
  });
});

describe('exportStream', () => {
  const event = (id: string) => ({ id, metadata: null, details: null }) as unknown as AuditEventDto;

  it('pulls a page from the source only when the reader asks for more', async () => {
    let pulled = 0;
    async function* pages() {
      for (let p = 0; p < 5; p++) {
        pulled++;
        yield [event(`a${p}`), event(`b${p}`)];
      }
    }
    const reader = exportStream(pages(), 'ndjson').getReader();
    expect(pulled).toBe(0);
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe(
      '{"id":"a0","metadata":null,"details":null}\n{"id":"b0","metadata":null,"details":null}\n',
    );
    expect(pulled).toBe(1);
    await reader.read();
    expect(pulled).toBe(2);
    await reader.cancel();
    expect(pulled).toBe(2);
  });

  it('breaks the stream when the source fails, rather than end it short', async () => {
    async function* pages() {
      yield [event('x')];
      throw new Error('D1 gone');
    }
    const errors: unknown[] = [];
    const reader = exportStream(pages(), 'csv', (err) => errors.push(err)).getReader();
    let text = '';
    const drain = async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    };
    await expect(drain()).rejects.toThrow('D1 gone');
    expect(text.startsWith(csvHeader())).toBe(true);
    expect(text.split('\r\n')[1]).toMatch(/^x,/);
    expect(errors).toHaveLength(1);
  });
});
