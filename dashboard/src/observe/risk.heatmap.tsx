/**
 * The risk heat map, hand-rolled (a table styled with CSS): tools down the side, users (or minutes) across, each
 * cell coloured by how much denying, alerting and anomalous activity it holds. Cells are buttons:
 * they open the Audit trail filtered to that tool and user, and read out their counts.
 */
import { formatClock } from '../lib/format';
import { navigate, withQuery } from '../lib/router';
import { type Counts, HEAT_BUCKET_MS, zero } from './observe.store';

export type HeatMode = 'user' | 'time';
export type ColourBy = 'risk' | 'deny' | 'alert' | 'anomaly';

const MAX_ROWS = 14;
const MAX_USER_COLUMNS = 10;
const TIME_COLUMNS = 15;

const HUES: Record<ColourBy, number> = { risk: 0, deny: 352, alert: 36, anomaly: 275 };

export function riskScore(c: Counts): number {
  return c.deny + 0.5 * c.alert + 3 * c.anomaly;
}

function metric(c: Counts, by: ColourBy): number {
  if (by === 'risk') return riskScore(c);
  return c[by];
}

function cellColour(value: number, max: number, by: ColourBy, calls: number): string {
  if (value <= 0) return calls > 0 ? 'hsl(210 40% 94%)' : 'hsl(210 30% 98%)';
  // Square root: one denial next to a hundred should still be visible.
  const t = Math.sqrt(value / Math.max(max, 1e-9));
  const lightness = 88 - t * 46;
  return `hsl(${HUES[by]} ${70 + t * 20}% ${lightness}%)`;
}

function describe(c: Counts): string {
  const failed = c.failed > 0 ? `, ${c.failed} upstream failure${c.failed === 1 ? '' : 's'}` : '';
  return `${c.calls} call${c.calls === 1 ? '' : 's'}, ${c.deny} denied, ${c.alert} alerted, ${c.anomaly} anomal${c.anomaly === 1 ? 'y' : 'ies'}${failed}`;
}

interface HeatMapProps {
  byUser: Map<string, Map<string, Counts>>;
  byMinute: Map<string, Map<number, Counts>>;
  mode: HeatMode;
  colourBy: ColourBy;
  /** `${tool}\u0000${column}` of cells that just received an anomaly (flash them). */
  flashing: Set<string>;
  now: number;
}

function sum(cells: Iterable<Counts>): Counts {
  const total = zero();
  for (const c of cells) {
    total.calls += c.calls;
    total.deny += c.deny;
    total.alert += c.alert;
    total.anomaly += c.anomaly;
    total.failed += c.failed;
  }
  return total;
}

export function cellKey(tool: string, column: string | number): string {
  return `${tool}\u0000${column}`;
}

export function RiskHeatMap({ byUser, byMinute, mode, colourBy, flashing, now }: HeatMapProps) {
  const grid = mode === 'user' ? byUser : byMinute;
  // Rows: the riskiest tools first, then the busiest.
  const rows = [...grid.entries()]
    .map(([tool, cells]) => ({ tool, total: sum(cells.values()) }))
    .filter((r) => r.total.calls + r.total.anomaly > 0)
    .sort((a, b) => riskScore(b.total) - riskScore(a.total) || b.total.calls - a.total.calls)
    .slice(0, MAX_ROWS);

  let columns: Array<{ key: string | number; label: string; title: string }>;
  if (mode === 'user') {
    const totals = new Map<string, number>();
    for (const cells of byUser.values())
      for (const [user, c] of cells) totals.set(user, (totals.get(user) ?? 0) + c.calls + c.anomaly);
    columns = [...totals.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, MAX_USER_COLUMNS)
      .map(([user]) => ({ key: user, label: user, title: user }));
  } else {
    const last = Math.floor(now / HEAT_BUCKET_MS) * HEAT_BUCKET_MS;
    columns = Array.from({ length: TIME_COLUMNS }, (_, i) => {
      const at = last - (TIME_COLUMNS - 1 - i) * HEAT_BUCKET_MS;
      return {
        key: at,
        label: i % 3 === 2 || i === TIME_COLUMNS - 1 ? formatClock(at).slice(0, 5) : '',
        title: formatClock(at),
      };
    });
  }

  let max = 0;
  for (const r of rows) {
    const cells = grid.get(r.tool) as Map<string | number, Counts> | undefined;
    for (const col of columns) {
      const c = cells?.get(col.key);
      if (c) max = Math.max(max, metric(c, colourBy));
    }
  }

  if (rows.length === 0 || columns.length === 0) {
    return (
      <div className="heatmap-empty">
        <p>No tool calls in the last 15 minutes.</p>
        <p className="muted small">Cells appear as agents call tools through the gateway.</p>
      </div>
    );
  }

  return (
    <div className="heatmap-wrap">
      <table
        className="heatmap"
        aria-label={`Risk heat map: tools by ${mode === 'user' ? 'user' : 'minute'}, coloured by ${colourBy}`}
      >
        <thead>
          <tr>
            <th scope="col" className="heatmap-corner">
              Tool \ {mode === 'user' ? 'user' : 'time'}
            </th>
            {columns.map((col) => (
              <th scope="col" key={String(col.key)} className="heatmap-col" title={col.title}>
                <span>{col.label}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const cells = grid.get(row.tool) as Map<string | number, Counts> | undefined;
            return (
              <tr key={row.tool}>
                <th scope="row" className="heatmap-tool" title={row.tool}>
                  {row.tool}
                </th>
                {columns.map((col) => {
                  const c = cells?.get(col.key) ?? zero();
                  const value = metric(c, colourBy);
                  // The number is calls (risk) or the coloured metric; a zero is left blank, so a
                  // cell never reads "0" on a coloured (e.g. anomaly-only) background.
                  const figure = colourBy === 'risk' ? c.calls : value;
                  const key = cellKey(row.tool, col.key);
                  const label = `${row.tool} × ${col.title}: ${describe(c)}`;
                  const empty = c.calls + c.anomaly === 0;
                  return (
                    <td key={key}>
                      <button
                        type="button"
                        className={`heatmap-cell ${c.anomaly > 0 ? 'has-anomaly' : ''} ${flashing.has(key) ? 'cell-flash' : ''}`}
                        style={{ background: cellColour(value, max, colourBy, c.calls) }}
                        title={label}
                        aria-label={label}
                        data-testid="heat-cell"
                        data-tool={row.tool}
                        data-column={String(col.key)}
                        data-calls={c.calls}
                        data-deny={c.deny}
                        data-anomaly={c.anomaly}
                        disabled={empty}
                        onClick={() =>
                          navigate(
                            withQuery('/audit', {
                              tool: row.tool.startsWith('(') ? undefined : row.tool,
                              user:
                                mode === 'user' && !String(col.key).startsWith('(')
                                  ? String(col.key)
                                  : undefined,
                            }),
                          )
                        }
                      >
                        {figure > 0 ? figure : ''}
                      </button>
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="heatmap-legend" aria-hidden="true">
        <span>low</span>
        <span
          className="legend-ramp"
          style={{
            background: `linear-gradient(90deg, ${cellColour(0.01, 1, colourBy, 1)}, ${cellColour(1, 1, colourBy, 1)})`,
          }}
        />
        <span>high {colourBy === 'risk' ? 'risk (deny + ½ alert + 3 × anomaly)' : colourBy}</span>
        <span className="legend-anomaly" /> <span>anomaly</span>
        <span className="muted">{colourBy === 'risk' ? 'numbers: calls' : `numbers: ${colourBy}`}</span>
      </div>
    </div>
  );
}
