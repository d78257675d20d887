/**
 * A job's reported metrics in the detail: each one's last value and a small
 * chart over steps. The chart's line stretches with the sidebar; its axis
 * labels are text beside it, so they stay readable at any width.
 */
import * as React from 'react';

import { IMetricPoint } from '../api';
import {
  chartPath,
  formatMetric,
  IMetricSeries,
  jobMetrics,
  seriesBounds
} from './metrics';

/** The chart's drawing box; the SVG stretches it to the space it has. */
const BOX_WIDTH = 200;
const BOX_HEIGHT = 48;

export function JobMetrics(props: {
  metrics: Record<string, IMetricPoint[]> | undefined;
}): JSX.Element | null {
  const series = jobMetrics(props.metrics);
  if (!series.length) {
    return null;
  }
  return (
    <>
      <h4 className="jp-mlp-JobDetail-section">Metrics</h4>
      <ul className="jp-mlp-Metrics" aria-label="Metrics">
        {series.map(metric => (
          <li
            key={metric.name}
            className="jp-mlp-Metric"
            data-metric={metric.name}
          >
            <div className="jp-mlp-Metric-head">
              <span className="jp-mlp-Metric-name">{metric.name}</span>
              <span className="jp-mlp-Metric-value">
                {formatMetric(metric.last.value)}
              </span>
              {typeof metric.last.step === 'number' && (
                <span className="jp-mlp-JobDetail-dim">
                  at step {metric.last.step}
                </span>
              )}
            </div>
            {metric.points.length > 1 && <MetricChart metric={metric} />}
          </li>
        ))}
      </ul>
    </>
  );
}

/** The line of a metric's values, with its ranges as labels. */
function MetricChart({ metric }: { metric: IMetricSeries }): JSX.Element {
  const { x, y } = seriesBounds(metric.points);
  const over = metric.bySteps ? 'step' : 'report';
  const description =
    `${metric.name} over ${metric.points.length} ${over}s ` +
    `(${x[0]} to ${x[1]}), from ${formatMetric(metric.points[0].y)} ` +
    `to ${formatMetric(metric.points[metric.points.length - 1].y)}, ` +
    `between ${formatMetric(y[0])} and ${formatMetric(y[1])}`;
  return (
    <div className="jp-mlp-MetricChart">
      <span className="jp-mlp-MetricChart-y jp-mod-max">
        {formatMetric(y[1])}
      </span>
      <svg
        className="jp-mlp-MetricChart-plot"
        viewBox={`0 0 ${BOX_WIDTH} ${BOX_HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={description}
      >
        <title>{description}</title>
        <polyline
          className="jp-mlp-MetricChart-line"
          points={chartPath(metric.points, BOX_WIDTH, BOX_HEIGHT)}
          vectorEffect="non-scaling-stroke"
        />
      </svg>
      <span className="jp-mlp-MetricChart-y jp-mod-min">
        {formatMetric(y[0])}
      </span>
      <span className="jp-mlp-MetricChart-x">
        <span>
          {over} {x[0]}
        </span>
        <span>{x[1]}</span>
      </span>
    </div>
  );
}
