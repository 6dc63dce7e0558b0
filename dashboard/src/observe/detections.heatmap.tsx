/**
 * Detections by risk: content-inspection findings counted by category (rows) × severity
 * (columns), from the live events' findings and the audit back-fill. A cell's colour is its
 * severity's hue, deeper with its count; its label reads out the count. Cells link to the
 * Detections screen, where the recent detections are listed one by one.
 */
import { Link } from '../lib/router';

const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const HUES: Record<(typeof SEVERITIES)[number], number> = { critical: 350, high: 12, medium: 36, low: 210 };

function colour(severity: (typeof SEVERITIES)[number], count: number, max: number): string {
  if (count <= 0) return 'hsl(210 30% 98%)';
  // Square root: one critical finding next to a hundred low ones should still be visible.
  const t = Math.sqrt(count / Math.max(max, 1));
  return `hsl(${HUES[severity]} ${65 + t * 25}% ${86 - t * 40}%)`;
}

export function DetectionsHeatMap({ heat }: { heat: Map<string, Map<string, number>> }) {
  const rows = [...heat.entries()]
    .map(([category, bySeverity]) => ({
      category,
      bySeverity,
      // Worst first: critical findings outweigh any number of low ones.
      weight: SEVERITIES.reduce((w, s, i) => w + (bySeverity.get(s) ?? 0) * 1000 ** (3 - i), 0),
    }))
    .sort((a, b) => b.weight - a.weight);
  if (rows.length === 0) {
    return (
      <div className="heatmap-empty" data-testid="detection-heatmap-empty">
        No content-inspection findings in this window. Apply a pack to a connection on the{' '}
        <Link to="/detections">Detections</Link> screen.
      </div>
    );
  }
  const max = Math.max(...rows.flatMap((r) => [...r.bySeverity.values()]));
  return (
    <div className="heatmap-wrap">
      <table
        className="heatmap"
        aria-label="Detections by category and severity"
        data-testid="detection-heatmap"
      >
        <thead>
          <tr>
            <th scope="col" className="heatmap-corner">
              category \ severity
            </th>
            {SEVERITIES.map((s) => (
              <th scope="col" key={s} className="heatmap-col">
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.category}>
              <th scope="row" className="heatmap-tool">
                {row.category}
              </th>
              {SEVERITIES.map((s) => {
                const count = row.bySeverity.get(s) ?? 0;
                return (
                  <td key={s}>
                    <Link
                      to="/detections"
                      className="heatmap-cell"
                      data-testid="detection-cell"
                      data-category={row.category}
                      data-severity={s}
                      aria-label={`${row.category}, ${s}: ${count} detection${count === 1 ? '' : 's'}`}
                      style={{ background: colour(s, count, max) }}
                    >
                      {count > 0 ? count : ''}
                    </Link>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
