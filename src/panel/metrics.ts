/**
 * A job's reported metrics shaped for the detail: each metric's points as a
 * series over steps (or report order), its last value, and the numbers the
 * chart's axes show.
 */
import { IMetricPoint } from '../api';

/** One point of a chart: x is the step (or the report's number), y the value. */
export interface ISeriesPoint {
  x: number;
  y: number;
}

/** A metric as the detail shows it. */
export interface IMetricSeries {
  name: string;
  points: ISeriesPoint[];
  /** Whether x counts steps (every report gave one) or reports. */
  bySteps: boolean;
  last: IMetricPoint;
}

/**
 * A metric's reports as chart points: over steps when every report gave one
 * (sorted by step, a step's last report kept), else over the reports' order
 * (1, 2, …). Values that are not finite numbers are left out.
 */
export function metricSeries(
  name: string,
  reports: readonly IMetricPoint[]
): IMetricSeries | null {
  const finite = reports.filter(point => Number.isFinite(point.value));
  if (!finite.length) {
    return null;
  }
  const bySteps = finite.every(
    point => typeof point.step === 'number' && Number.isFinite(point.step)
  );
  let points: ISeriesPoint[];
  if (bySteps) {
    const byStep = new Map<number, number>();
    finite.forEach(point => byStep.set(point.step as number, point.value));
    points = [...byStep.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([x, y]) => ({ x, y }));
  } else {
    points = finite.map((point, index) => ({ x: index + 1, y: point.value }));
  }
  return { name, points, bySteps, last: finite[finite.length - 1] };
}

/** Every metric of a job that has a finite value, by name. */
export function jobMetrics(
  metrics: Record<string, IMetricPoint[]> | undefined
): IMetricSeries[] {
  return Object.keys(metrics ?? {})
    .sort()
    .map(name => metricSeries(name, metrics![name]))
    .filter((series): series is IMetricSeries => series !== null);
}

/** A metric's value, short: 4 significant digits, exponents when very large or small. */
export function formatMetric(value: number): string {
  const size = Math.abs(value);
  if (size !== 0 && (size >= 1e6 || size < 1e-3)) {
    return value.toExponential(2);
  }
  return String(Number(value.toPrecision(4)));
}

/** The range the chart spans: min and max of x and y (a flat line gets some height). */
export function seriesBounds(points: readonly ISeriesPoint[]): {
  x: [number, number];
  y: [number, number];
} {
  const xs = points.map(point => point.x);
  const ys = points.map(point => point.y);
  return {
    x: [Math.min(...xs), Math.max(...xs)],
    y: [Math.min(...ys), Math.max(...ys)]
  };
}

/**
 * The polyline's points in a `width` × `height` box (y grows downwards): the
 * series scaled to fill it; a flat series runs through the middle.
 */
export function chartPath(
  points: readonly ISeriesPoint[],
  width: number,
  height: number
): string {
  const { x, y } = seriesBounds(points);
  const spanX = x[1] - x[0];
  const spanY = y[1] - y[0];
  return points
    .map(point => {
      const px = spanX ? ((point.x - x[0]) / spanX) * width : width / 2;
      const py = spanY
        ? height - ((point.y - y[0]) / spanY) * height
        : height / 2;
      return `${round(px)},${round(py)}`;
    })
    .join(' ');
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
