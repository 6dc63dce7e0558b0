/**
 * Character sets for the confirmation-pattern checker (inspection.regex.ts): which characters a
 * piece of a pattern can start with or consume, as a bitset over ASCII plus one flag for "some
 * non-ASCII character". Enough to tell whether two alternation branches can start alike, without
 * enumerating Unicode. No I/O.
 */

/** ASCII first-character set (bitset over 0..127) plus "some non-ASCII character". */
export interface CharSet {
  bits: Uint32Array;
  other: boolean;
}

export const emptySet = (): CharSet => ({ bits: new Uint32Array(4), other: false });
export const fullSet = (): CharSet => ({ bits: new Uint32Array(4).fill(0xffffffff), other: true });
export function add(set: CharSet, code: number): void {
  if (code < 128) set.bits[code >> 5]! |= 1 << (code & 31);
  else set.other = true;
}
export function union(a: CharSet, b: CharSet): CharSet {
  const out = emptySet();
  for (let i = 0; i < 4; i++) out.bits[i] = a.bits[i]! | b.bits[i]!;
  out.other = a.other || b.other;
  return out;
}
export function intersects(a: CharSet, b: CharSet): boolean {
  if (a.other && b.other) return true;
  for (let i = 0; i < 4; i++) if ((a.bits[i]! & b.bits[i]!) !== 0) return true;
  return false;
}
export function addRange(set: CharSet, from: number, to: number): void {
  for (let c = from; c <= Math.min(to, 127); c++) add(set, c);
  if (to >= 128) set.other = true;
}
export function complement(set: CharSet): CharSet {
  const out = emptySet();
  for (let i = 0; i < 4; i++) out.bits[i] = ~set.bits[i]! >>> 0;
  out.other = true;
  return out;
}
export function classEscape(ch: string): CharSet | null {
  const s = emptySet();
  switch (ch.toLowerCase()) {
    case 'd':
      addRange(s, 48, 57);
      break;
    case 'w':
      addRange(s, 48, 57);
      addRange(s, 65, 90);
      addRange(s, 97, 122);
      add(s, 95);
      break;
    case 's':
      for (const c of [9, 10, 11, 12, 13, 32]) add(s, c);
      s.other = true;
      break;
    default:
      return null;
  }
  return ch === ch.toUpperCase() ? complement(s) : s;
}
export function foldCase(set: CharSet): CharSet {
  const out = union(set, emptySet());
  for (let c = 65; c <= 90; c++) {
    const up = (set.bits[c >> 5]! >> (c & 31)) & 1;
    const lo = (set.bits[(c + 32) >> 5]! >> ((c + 32) & 31)) & 1;
    if (up || lo) {
      add(out, c);
      add(out, c + 32);
    }
  }
  return out;
}
