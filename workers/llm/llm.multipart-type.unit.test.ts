/** llm.multipart-type: the boundary and the parts' headers, read one way only. */
import { describe, expect, it } from 'vitest';
import { boundaryFault, partHeadersFault } from './llm.multipart-type';

const bytes = (text: string) => new TextEncoder().encode(text);
const TYPE = 'multipart/form-data; boundary=B';

describe('boundaryFault', () => {
  it('passes one plain boundary, quoted or not; refuses two or an extended one', () => {
    expect(boundaryFault('multipart/form-data; boundary=B')).toBeNull();
    expect(boundaryFault('multipart/form-data; charset=utf-8; boundary="B"')).toBeNull();
    for (const type of [
      'multipart/form-data; boundary=A; Boundary=B',
      "multipart/form-data; boundary*=utf-8''B",
    ])
      expect(boundaryFault(type)?.code, type).toBe('validation_failed');
  });
});

describe('partHeadersFault', () => {
  it('passes ordinary forms, CRLF or LF, whatever their content, preamble or epilogue say', () => {
    const form =
      'pre\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\n' +
      'x: 1\r\nx: 1\r\n--Bnot\r\na: 1\r\na: 1\r\n\r\n--B--\r\na: 1\r\na: 1\r\n';
    expect(partHeadersFault(bytes(form), TYPE)).toBeNull();
    expect(partHeadersFault(bytes(form.replaceAll('\r\n', '\n')), TYPE)).toBeNull();
  });

  it('refuses a header twice, a disposition parameter twice, name*=, or a folded line', () => {
    for (const headers of [
      'Content-Disposition: form-data; name="x"\r\ncontent-disposition: form-data; name="file"',
      'Content-Disposition: form-data; name="x"; NAME="file"',
      'Content-Disposition: form-data; name="x"; name*=utf-8\'\'file',
      'Content-Disposition: form-data; name="x";\r\n\tname="file"',
      'Content-Disposition: form-data; name="model"\r\nContent-Transfer-Encoding: base64',
      'Content-Disposition: form-data; name="model"\r\nContent-Transfer-Encoding: Quoted-Printable',
    ])
      expect(partHeadersFault(bytes(`--B\r\n${headers}\r\n\r\nv\r\n--B--\r\n`), TYPE)?.code, headers).toBe(
        'validation_failed',
      );
  });

  it('is linear: many parts are scanned in one pass', () => {
    const part = '--B\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n';
    const start = performance.now();
    expect(partHeadersFault(bytes(`${part.repeat(50_000)}--B--\r\n`), TYPE)).toBeNull();
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});
