/**
 * The response stages' cheap pre-check (ResponseStage.wants): may this JSON text hold an object
 * key named `key`? It spares a JSON parse of SSE events that cannot concern a stage.
 *
 * A plain search for `"key"` is not enough: JSON may spell any character of a key as a `\u`
 * escape (`"\u0069d"` is `"id"`), and the parsed object — what the caller's client reads — is
 * the same. So text with an escape that could stand for a key's character answers true too, and
 * the stage parses and looks. Keys the stages look for are ASCII; an escape of a non-ASCII
 * character (`\u00e9`, common in text) cannot spell one, so it does not force the parse.
 *
 * Linear: two native searches, then a scan of the `\u` escapes only.
 */
export function mayHaveKey(raw: string, key: string): boolean {
  return raw.includes(`"${key}"`) || hasAsciiEscape(raw);
}

/** True when the text has a `\u00XX` escape of a printable ASCII character (0x20–0x7f). */
export function hasAsciiEscape(raw: string): boolean {
  for (let at = raw.indexOf('\\u00'); at !== -1; at = raw.indexOf('\\u00', at + 1)) {
    const high = raw.charCodeAt(at + 4);
    // '2'..'7' (0x32–0x37): the escape is of U+0020–U+007F.
    if (high >= 0x32 && high <= 0x37) return true;
  }
  return false;
}
