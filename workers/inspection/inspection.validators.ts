/**
 * Validators confirm a pattern match on its value (the `v` named group if the pattern has one,
 * else the whole match): checksums and shapes a regular expression cannot express. Each is
 * linear in the value; values are bounded by the pattern's bounded quantifiers.
 */
import type { Validator } from './inspection.schema.js';

export function luhn(value: string): boolean {
  const digits = value.replace(/[^0-9]/g, '');
  if (digits.length < 12 || digits.length > 19) return false;
  if (/^(\d)\1+$/.test(digits)) return false; // 0000 0000 0000 0000 passes Luhn but is no card
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters to numbers, mod 97 must be 1. */
export function iban(value: string): boolean {
  const s = value.replace(/[\s-]/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const num = code >= 65 ? code - 55 : code - 48;
    rem = num >= 10 ? (rem * 100 + num) % 97 : (rem * 10 + num) % 97;
  }
  return rem === 1;
}

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  if (!value.length) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

export function ssn(value: string): boolean {
  const m = /^(\d{3})[- ]?(\d{2})[- ]?(\d{4})$/.exec(value.trim());
  if (!m) return false;
  const [area, group, serial] = [m[1]!, m[2]!, m[3]!];
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (group === '00' || serial === '0000') return false;
  // Numbers published as examples (Woolworth's wallet card, the SSA's own advertising).
  return !['078051120', '219099999', '123456789'].includes(area + group + serial);
}

export function ipv4(value: string): boolean {
  const m = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/.exec(value);
  return !!m && [m[1], m[2], m[3], m[4]].every((o) => Number(o) <= 255 && !(o!.length > 1 && o![0] === '0'));
}

function base64UrlJson(part: string): unknown {
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
  } catch {
    return null;
  }
}

export function jwt(value: string): boolean {
  const header = base64UrlJson(value.split('.')[0] ?? '');
  return typeof header === 'object' && header !== null && 'alg' in header;
}

const PLACEHOLDER =
  /^(?:x+|\*+|\.+|-+|0+|1234.*|changeme|change_me|password|secret|example.*|your[_-].*|<.*>|\$\{.*\}|\{\{.*\}\}|%.*%|todo|redacted|null|none|test|dummy|placeholder|sample)$/i;

export function notPlaceholder(value: string): boolean {
  const v = value.replace(/^['"]|['"]$/g, '');
  if (PLACEHOLDER.test(v)) return false;
  if (/(?:x{4,}|\*{4,}|example|your[_-]|placeholder|dummy|redacted)/i.test(v)) return false;
  // After a vendor prefix (`key-`, `ghp_`), a body of one or two distinct characters is filler.
  const body = v.replace(/^[A-Za-z]{1,12}[-_.]/, '');
  return new Set(body).size > 2;
}

export function date(value: string): boolean {
  let m = /(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})/.exec(value);
  if (m) return realDate(+m[1]!, +m[2]!, +m[3]!);
  m = /(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})/.exec(value);
  if (m) return realDate(+m[3]!, +m[2]!, +m[1]!) || realDate(+m[3]!, +m[1]!, +m[2]!);
  m = /(\d{1,2})\s+[a-z]{3,9}\.?,?\s+(\d{4})|[a-z]{3,9}\.?\s+(\d{1,2}),?\s+(\d{4})/i.exec(value);
  if (m) return Number(m[1] ?? m[3]) >= 1 && Number(m[1] ?? m[3]) <= 31;
  return false;
}

function realDate(y: number, mo: number, d: number): boolean {
  if (y < 1900 || y > 2100 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

export function passes(validator: Validator, value: string): boolean {
  switch (validator.type) {
    case 'luhn':
      return luhn(value);
    case 'iban':
      return iban(value);
    case 'entropy':
      return value.length >= (validator.minLength ?? 1) && entropy(value) >= validator.minBitsPerChar;
    case 'ssn':
      return ssn(value);
    case 'ipv4':
      return ipv4(value);
    case 'jwt':
      return jwt(value);
    case 'not_placeholder':
      return notPlaceholder(value);
    case 'date':
      return date(value);
  }
}
