/**
 * The fake provider's own readings of a form body (test/e2e/llm.fake-provider.ts records them with
 * each request), made by parsers other than the gateway's runtime (workerd), so a test can prove
 * that what the provider reads is what the gateway decided on:
 *
 *   standard  Node's own `Response.formData()` (undici's multipart parser, and its URL-encoded one):
 *             a parser that follows the spec, not workerd's;
 *   lenient   a hand-rolled parser that reads the body the way lenient servers do: a multipart
 *             body split on `--boundary` wherever it occurs (not only at a line start), every
 *             segment a part — the preamble, and parts after the close delimiter, too — header
 *             block and value split at the first blank line, CRLF or bare LF, the part's name the
 *             first `name="…"` of its headers (a regular expression, as hand-rolled parsers have);
 *             a URL-encoded body split on `&` and `;` (Python's `parse_qs` before 3.9.2).
 *
 * An entry is `[name, text]` or `[name, {filename, type, text}]` (file contents read as UTF-8: the
 * tests' files are text).
 */
export type FakeFormEntry = [string, string | { filename: string; type: string; text: string }];

export interface FakeForms {
  /** The body's boundary (multipart), as the Content-Type names it. */
  boundary: string | null;
  standard: FakeFormEntry[] | { error: string };
  lenient: FakeFormEntry[];
}

export async function readForms(bytes: Buffer, contentType: string): Promise<FakeForms | null> {
  const type = contentType.toLowerCase();
  const multipart = type.startsWith('multipart/form-data');
  if (!multipart && !type.startsWith('application/x-www-form-urlencoded')) return null;
  const boundary = multipart ? (/boundary="?([^";]+)"?/i.exec(contentType)?.[1] ?? null) : null;
  const text = bytes.toString('utf8');
  return {
    boundary,
    standard: await standardForm(bytes, contentType),
    lenient: multipart ? lenientMultipart(text, boundary ?? '') : lenientUrlencoded(text),
  };
}

async function standardForm(
  bytes: Buffer,
  contentType: string,
): Promise<FakeFormEntry[] | { error: string }> {
  try {
    const form = await new Response(new Uint8Array(bytes), {
      headers: { 'Content-Type': contentType },
    }).formData();
    const entries: FakeFormEntry[] = [];
    for (const [name, value] of form.entries())
      entries.push(
        typeof value === 'string'
          ? [name, value]
          : [name, { filename: value.name, type: value.type, text: await value.text() }],
      );
    return entries;
  } catch (err) {
    return { error: String(err) };
  }
}

function lenientMultipart(text: string, boundary: string): FakeFormEntry[] {
  if (!boundary) return [];
  const entries: FakeFormEntry[] = [];
  for (const segment of text.split(`--${boundary}`)) {
    // The close delimiter's tail: a lenient parser reads on.
    if (segment.startsWith('--')) continue;
    const body = segment.replace(/^\r?\n/, '');
    const blank = /\r?\n\r?\n/.exec(body);
    if (!blank) continue;
    const headers = body.slice(0, blank.index);
    const value = body.slice(blank.index + blank[0].length).replace(/\r?\n$/, '');
    const name = /name="([^"]*)"/i.exec(headers.replace(/filename="[^"]*"/gi, ''))?.[1];
    if (name === undefined) continue;
    const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
    const type = /^content-type:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
    entries.push(filename === undefined ? [name, value] : [name, { filename, type, text: value }]);
  }
  return entries;
}

function lenientUrlencoded(text: string): FakeFormEntry[] {
  const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return text
    .split(/[&;]/)
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      return at < 0 ? [decode(pair), ''] : [decode(pair.slice(0, at)), decode(pair.slice(at + 1))];
    });
}
