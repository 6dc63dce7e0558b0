/**
 * `npm run eval:detections` — precision, recall and false-positive rate of the built-in detection
 * rules on the labelled corpora in test/corpora/detections/ (one file per category: attack and
 * benign samples, the position they are scanned in, their licence and source; general.json holds
 * benign prose, code, SQL, paths and numbers scanned in every position).
 *
 *   npm run eval:detections              print the table and write it into docs/detections.md
 *   npm run eval:detections -- --verbose also list missed attacks and flagged benign samples
 *
 * Every rule is on ('all'). An attack counts as detected when some finding has the corpus's
 * category (any severity); a benign sample counts as a false positive when some finding has
 * severity medium or above (benign traffic should raise nothing that alerts or blocks).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { registerTsResolve } from '../bench/lib/ts-resolve.ts';

registerTsResolve();
const { builtinRules } = await import('../workers/inspection/inspection.builtin.ts');
const { compileRules } = await import('../workers/inspection/inspection.engine.ts');
const { SEVERITY_RANK, WHERES } = await import('../workers/inspection/inspection.schema.ts');

type Where = (typeof WHERES)[number];
/** A sample is its text, or its text and the position it is scanned in when not the file's. */
type Sample = string | { text: string; where: Where };
interface Corpus {
  category: string;
  where: Where | 'all';
  licence: string;
  source: string;
  attack: Sample[];
  benign: Sample[];
}
interface Row {
  category: string;
  attacks: number;
  detected: number;
  benign: number;
  flagged: number;
  /** Benign samples of any corpus with a medium+ finding of this category. */
  falseAlarms: number;
}

const ROOT = path.resolve(import.meta.dirname, '..');
const CORPORA = path.join(ROOT, 'test/corpora/detections');
const DOC = path.join(ROOT, 'docs/detections.md');
const verbose = process.argv.includes('--verbose');

const corpora: Corpus[] = readdirSync(CORPORA)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(CORPORA, f), 'utf8')) as Corpus);
const rules = builtinRules();
const engine = compileRules(rules, 'all');

const wheresOf = (c: Corpus, s: Sample): readonly Where[] =>
  typeof s !== 'string' ? [s.where] : c.where === 'all' ? WHERES : [c.where];
const findingsOf = (c: Corpus, s: Sample) =>
  wheresOf(c, s).flatMap((w) => engine.scan(typeof s === 'string' ? s : s.text, w));
const alerting = (f: { severity: keyof typeof SEVERITY_RANK }) =>
  SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium;

const rows = new Map<string, Row>();
const row = (category: string) => {
  const known = rows.get(category);
  if (known) return known;
  const r = { category, attacks: 0, detected: 0, benign: 0, flagged: 0, falseAlarms: 0 };
  rows.set(category, r);
  return r;
};
let benignTotal = 0;
let benignFlagged = 0;
for (const corpus of corpora) {
  const r = row(corpus.category);
  for (const text of corpus.attack) {
    r.attacks++;
    if (findingsOf(corpus, text).some((f) => f.category === corpus.category)) r.detected++;
    else if (verbose) console.log(`missed   ${corpus.category}: ${JSON.stringify(text).slice(0, 160)}`);
  }
  for (const text of corpus.benign) {
    const alerts = findingsOf(corpus, text).filter(alerting);
    r.benign++;
    benignTotal++;
    if (alerts.length) {
      r.flagged++;
      benignFlagged++;
      for (const category of new Set(alerts.map((f) => f.category))) row(category).falseAlarms++;
      if (verbose)
        console.log(
          `flagged  ${corpus.category}: ${[...new Set(alerts.map((f) => f.ruleId))].join(',')} ${JSON.stringify(text).slice(0, 120)}`,
        );
    }
  }
}

const pct = (n: number, d: number) => (d === 0 ? '—' : `${((100 * n) / d).toFixed(1)}%`);
const ordered = [...rows.values()].sort((a, b) =>
  a.category === 'general' ? 1 : b.category === 'general' ? -1 : a.category.localeCompare(b.category),
);
const totals = ordered.reduce(
  (t, r) => ({ attacks: t.attacks + r.attacks, detected: t.detected + r.detected }),
  { attacks: 0, detected: 0 },
);
const lines = [
  '| Category | Attacks | Recall | Precision | Benign | FPR (medium+) |',
  '|---|---:|---:|---:|---:|---:|',
  ...ordered.map(
    (r) =>
      `| ${r.category} | ${r.attacks} | ${pct(r.detected, r.attacks)} | ${pct(r.detected, r.detected + r.falseAlarms)} | ${r.benign} | ${pct(r.flagged, r.benign)} |`,
  ),
  `| **overall** | ${totals.attacks} | **${pct(totals.detected, totals.attacks)}** | **${pct(totals.detected, totals.detected + benignFlagged)}** | ${benignTotal} | **${pct(benignFlagged, benignTotal)}** |`,
];
const table = [
  `${rules.length} built-in rules, all enabled; ${corpora.length} corpus files. Produced by \`npm run eval:detections\` on ${new Date().toISOString().slice(0, 10)}.`,
  '',
  ...lines,
].join('\n');
console.log(table);

const BEGIN = '<!-- eval:begin -->';
const END = '<!-- eval:end -->';
const doc = readFileSync(DOC, 'utf8');
const from = doc.indexOf(BEGIN);
const to = doc.indexOf(END);
if (from < 0 || to < from) throw new Error(`docs/detections.md lacks the ${BEGIN} … ${END} markers`);
writeFileSync(DOC, `${doc.slice(0, from + BEGIN.length)}\n${table}\n${doc.slice(to)}`);
console.log(`\nwrote the table into ${path.relative(ROOT, DOC)}`);
