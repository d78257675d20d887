/**
 * One metric's reports from several runs overlaid in a small line chart:
 * by step where the runs gave steps, else by report order.
 */
import * as React from 'react';

import { IMetricPoint } from '../api';
import { formatMetric } from '../table/columns';

const WIDTH = 240;
const HEIGHT = 90;
const PAD = 6;
/** Colour and dash tell runs apart, so colour is never the only cue. */
const DASHES = ['', '5 3', '2 2', '8 3 2 3'];
const RUN_COLOURS = 4;

/** Each point's x (its step, else its place) and y. */
function coordinates(points: IMetricPoint[]): [number, number][] {
  return points.map((point, index) => [point.step ?? index, point.value]);
}

export function MetricChart({
  metric,
  runs,
  series
}: {
  metric: string;
  runs: readonly string[];
  series: IMetricPoint[][];
}): JSX.Element {
  const all = series.flatMap(coordinates);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) =>
    PAD + ((x - x0) / (x1 - x0 || 1)) * (WIDTH - 2 * PAD);
  const sy = (y: number) =>
    HEIGHT - PAD - ((y - y0) / (y1 - y0 || 1)) * (HEIGHT - 2 * PAD);
  return (
    <figure className="jp-mlp-Compare-chart">
      <figcaption>
        {metric}{' '}
        <span className="jp-mlp-Compare-range">
          {formatMetric(y0)} – {formatMetric(y1)}
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${metric} over steps for ${runs.join(', ')}`}
      >
        {series.map((points, index) => (
          <polyline
            key={index}
            className={`jp-mlp-Compare-line jp-mlp-Compare-run${index % RUN_COLOURS}`}
            strokeDasharray={DASHES[index % DASHES.length]}
            points={coordinates(points)
              .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
              .join(' ')}
          />
        ))}
      </svg>
      <ul className="jp-mlp-Compare-key">
        {runs.map((run, index) => (
          <li key={index}>
            <svg width="18" height="6" aria-hidden="true">
              <line
                x1="0"
                y1="3"
                x2="18"
                y2="3"
                className={`jp-mlp-Compare-line jp-mlp-Compare-run${index % RUN_COLOURS}`}
                strokeDasharray={DASHES[index % DASHES.length]}
              />
            </svg>
            {run}
          </li>
        ))}
      </ul>
    </figure>
  );
}
