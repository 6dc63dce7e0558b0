/** A uPlot time series that follows its container's width and redraws when its data changes. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface SeriesSpec {
  label: string;
  color: string;
  fill?: string;
  points?: boolean;
  /** bars: one bar per bucket; steps: a stepped line (counts hold for the whole bucket). */
  shape?: 'bars' | 'steps';
}

const bars = uPlot.paths.bars?.({ size: [0.8, 24] });
const steps = uPlot.paths.stepped?.({ align: 1 });

interface RateChartProps {
  title: string;
  /** x (seconds since the epoch), then one array per series. */
  data: uPlot.AlignedData;
  series: SeriesSpec[];
  height?: number;
  unit: string;
  /** Seconds of room after the last x value, so the current bucket has width. */
  padRight?: number;
}

export function RateChart({ title, data, series, height = 200, unit, padRight = 0 }: RateChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const specKey = series.map((s) => s.label).join('|');

  // biome-ignore lint/correctness/useExhaustiveDependencies: the chart is rebuilt only when its series change; data flows through setData below
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 240),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: (_u, min, max) => [min, max + padRight] },
        y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.15))] },
      },
      axes: [
        { stroke: '#64748b', grid: { stroke: '#e2e8f0' }, ticks: { stroke: '#e2e8f0' } },
        {
          stroke: '#64748b',
          grid: { stroke: '#e2e8f0' },
          ticks: { stroke: '#e2e8f0' },
          label: unit,
          labelSize: 18,
          size: 48,
        },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.shape === 'bars' ? 1 : 2,
          fill: s.fill,
          paths: s.shape === 'bars' ? bars : steps,
          points: { show: s.points ?? false, size: 7, fill: s.color },
          value: (_u: uPlot, v: number | null) =>
            v === null ? '—' : v.toFixed(v < 10 && v % 1 !== 0 ? 1 : 0),
        })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const observer = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(el.clientWidth, 240), height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [specKey, height, unit, padRight]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={holder}
        className="chart-canvas"
        role="img"
        aria-label={`${title} over the last 15 minutes`}
      />
    </figure>
  );
}
