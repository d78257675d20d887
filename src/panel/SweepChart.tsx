/**
 * A sweep's metric as a hand-drawn SVG scatter: by trial number (with the best
 * so far as a step line), or against one searched parameter (on a log axis
 * when the parameter is searched in log space, by category for strings). It
 * is drawn at the width it is given, one unit a pixel, so its labels keep
 * their size in a narrow sidebar.
 */
import * as React from 'react';
import { useEffect, useRef, useState } from 'react';

import { ISweepSpec, ITrial } from '../api';
import {
  IScale,
  formatMetric,
  formatValue,
  makeScale,
  trialNumber
} from '../sweep';

/** The width drawn before the container is measured (and where it cannot be). */
const WIDTH = 320;
const MIN_WIDTH = 180;
const MAX_WIDTH = 560;
const HEIGHT = 180;
const MARGIN = { top: 10, right: 12, bottom: 30, left: 44 };

export interface ISweepChartProps {
  sweep: ISweepSpec;
  trials: readonly ITrial[];
  best: ITrial | null;
}

export function SweepChart(props: ISweepChartProps): JSX.Element {
  const { sweep, trials, best } = props;
  const [axis, setAxis] = useState('');
  const scored = trials.filter(
    t => t.metric !== null && t.metric !== undefined
  );
  const metric = sweep.metric.name;
  const parameter = sweep.parameters.find(p => p.name === axis) ?? null;
  const [ref, width] = useWidth();
  return (
    <div className="jp-mlp-SweepChart" ref={ref}>
      <label className="jp-mlp-SweepChart-axis">
        {metric} by{' '}
        <select
          aria-label="Chart the metric against"
          value={axis}
          onChange={event => setAxis(event.target.value)}
        >
          <option value="">trial</option>
          {sweep.parameters.map(p => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      {scored.length === 0 ? (
        <div className="jp-mlp-Field-hint">
          No metric reported yet: points appear as trials report{' '}
          <code>{metric}</code>.
        </div>
      ) : (
        <Plot
          trials={scored}
          best={best}
          metric={metric}
          goal={sweep.metric.goal ?? 'maximize'}
          xName={parameter?.name ?? null}
          xLog={parameter?.scale === 'log'}
          width={width}
        />
      )}
    </div>
  );
}

function Plot(props: {
  trials: ITrial[];
  best: ITrial | null;
  metric: string;
  goal: 'maximize' | 'minimize';
  /** The parameter on the x axis; null: the trial number. */
  xName: string | null;
  xLog: boolean;
  width: number;
}): JSX.Element {
  const { trials, best, metric, xName, width } = props;
  const xRange: [number, number] = [MARGIN.left, width - MARGIN.right];
  const yRange: [number, number] = [HEIGHT - MARGIN.bottom, MARGIN.top];
  const metrics = trials.map(t => t.metric as number);
  const y = makeScale(metrics, yRange);

  // The x of each trial: its number, its parameter's value, or its category's place.
  const raw = trials.map(t =>
    xName === null ? trialNumber(t) : t.parameters?.[xName]
  );
  const categories = raw.some(v => typeof v !== 'number')
    ? [...new Set(raw.map(v => formatValue(v)))].sort()
    : null;
  const xs = raw.map(v =>
    categories ? categories.indexOf(formatValue(v)) : (v as number)
  );
  const x = makeScale(xs, xRange, props.xLog && categories === null);
  const xTicks: { at: number; label: string }[] = categories
    ? categories.map((label, index) => ({ at: index, label }))
    : (xName === null ? integerTicks(x) : x.ticks).map(at => ({
        at,
        label: formatValue(at)
      }));

  const points = trials.map((trial, index) => ({
    trial,
    cx: x(xs[index]),
    cy: y(trial.metric as number)
  }));
  const bestPoint = points.find(p => p.trial === best) ?? null;
  const label =
    `${metric} by ${xName ?? 'trial'}${x.log ? ' (log scale)' : ''}: ` +
    `${trials.length} trials` +
    (best ? `, best ${formatMetric(best.metric)} (trial ${best.id})` : '');

  return (
    <svg
      className="jp-mlp-SweepChart-plot"
      viewBox={`0 0 ${width} ${HEIGHT}`}
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      <g className="jp-mlp-SweepChart-grid">
        {y.ticks.map(tick => (
          <g key={`y${tick}`}>
            <line x1={xRange[0]} x2={xRange[1]} y1={y(tick)} y2={y(tick)} />
            <text
              className="jp-mlp-SweepChart-tick"
              x={xRange[0] - 4}
              y={y(tick)}
              textAnchor="end"
              dominantBaseline="middle"
            >
              {formatMetric(tick)}
            </text>
          </g>
        ))}
        {xTicks.map(tick => (
          <text
            key={`x${tick.at}`}
            className="jp-mlp-SweepChart-tick"
            x={x(tick.at)}
            y={yRange[0] + 12}
            textAnchor="middle"
          >
            {tick.label}
          </text>
        ))}
        <text
          className="jp-mlp-SweepChart-label"
          x={(xRange[0] + xRange[1]) / 2}
          y={HEIGHT - 3}
          textAnchor="middle"
        >
          {xName ?? 'trial'}
          {x.log ? ' (log)' : ''}
        </text>
      </g>
      <rect
        className="jp-mlp-SweepChart-frame"
        x={xRange[0]}
        y={yRange[1]}
        width={xRange[1] - xRange[0]}
        height={yRange[0] - yRange[1]}
      />
      {xName === null && (
        <polyline
          className="jp-mlp-SweepChart-bestSoFar"
          points={bestSoFar(points, props.goal)}
        />
      )}
      {points.map(point => (
        <circle
          key={point.trial.id}
          className={`jp-mlp-SweepChart-point${point.trial.state === 'SUCCEEDED' ? '' : ' jp-mod-unfinished'}`}
          cx={point.cx}
          cy={point.cy}
          r={3.5}
        >
          <title>
            {`Trial ${point.trial.id}: ${metric} ${formatMetric(point.trial.metric)}`}
          </title>
        </circle>
      ))}
      {bestPoint && (
        <text
          className="jp-mlp-SweepChart-best"
          x={bestPoint.cx}
          y={bestPoint.cy}
          textAnchor="middle"
          dominantBaseline="central"
        >
          ★
        </text>
      )}
    </svg>
  );
}

/** The width of the chart's container (within what a chart can use), followed as it changes. */
function useWidth(): [React.RefObject<HTMLDivElement>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(WIDTH);
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(entries => {
      const measured = Math.floor(entries[0].contentRect.width);
      if (measured > 0) {
        setWidth(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, measured)));
      }
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** Whole trial numbers only (a few of them when there are many trials). */
function integerTicks(scale: IScale): number[] {
  const [lo, hi] = scale.domain;
  const first = Math.ceil(lo);
  const last = Math.floor(hi);
  const step = Math.max(1, Math.ceil((last - first + 1) / 8));
  const ticks: number[] = [];
  for (let t = first; t <= last; t += step) {
    ticks.push(t);
  }
  return ticks;
}

/** The best metric so far, in trial order, as a step line. */
function bestSoFar(
  points: { trial: ITrial; cx: number; cy: number }[],
  goal: 'maximize' | 'minimize'
): string {
  const ordered = [...points].sort((a, b) => a.cx - b.cx);
  const steps: string[] = [];
  let bestY: number | null = null;
  for (const point of ordered) {
    if (point.trial.state !== 'SUCCEEDED') {
      continue;
    }
    // SVG y grows downwards: a larger metric has a smaller y.
    const better =
      bestY === null ||
      (goal === 'maximize' ? point.cy < bestY : point.cy > bestY);
    if (bestY !== null) {
      steps.push(`${point.cx},${bestY}`);
    }
    if (better) {
      bestY = point.cy;
    }
    steps.push(`${point.cx},${bestY}`);
  }
  return steps.join(' ');
}
