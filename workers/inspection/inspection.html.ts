/**
 * HTML character references for the decoder (inspection.decode.ts): numeric ones, and the named
 * ones an attacker would use to spell markup or a command (`&lt;script&gt;`, `&lpar;`, `&colon;`).
 */

const NAMED: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
  sol: '/',
  bsol: '\\',
  colon: ':',
  lpar: '(',
  rpar: ')',
  equals: '=',
  nbsp: ' ',
  tab: '\t',
  newline: '\n',
  grave: '`',
  lsqb: '[',
  rsqb: ']',
  lcub: '{',
  rcub: '}',
  period: '.',
  comma: ',',
  excl: '!',
  num: '#',
  dollar: '$',
  percnt: '%',
  ast: '*',
  plus: '+',
  semi: ';',
  quest: '?',
  commat: '@',
  hat: '^',
  vert: '|',
  lowbar: '_',
};

export function decodeHtml(s: string): string {
  return s.replace(/&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]{2,8}));?/g, (m, hex, dec, name) => {
    if (hex || dec) {
      const cp = hex ? Number.parseInt(hex, 16) : Number(dec);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return NAMED[String(name).toLowerCase()] ?? m;
  });
}
