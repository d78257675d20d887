/**
 * One job's row of the jobs table: its fixed cells, then its parameters
 * (defaults muted and marked) and its metrics' last values.
 */
import * as React from 'react';

import { JobSummary } from '../api';
import {
  formatGpu,
  formatJobCost,
  formatJobDuration,
  formatShortTime,
  formatTime
} from '../panel/format';
import { StateBadge } from '../panel/StateBadge';
import {
  IParameterValues,
  formatJobRef,
  formatMetric,
  formatParameter,
  jobSource,
  lastMetric,
  parameterValue
} from './columns';

export interface IJobRowProps {
  job: JobSummary;
  now: number;
  selected: boolean;
  /** The job's parameters; undefined while its whole job is being fetched. */
  values: IParameterValues | undefined;
  parameters: readonly string[];
  metrics: readonly string[];
  onToggle: () => void;
  /** Show a job (this one, or the one it reran) in the panel. */
  onOpen: (id: string) => void;
}

export function JobRow({
  job,
  now,
  selected,
  values,
  parameters,
  metrics,
  onToggle,
  onOpen
}: IJobRowProps): JSX.Element {
  const name = job.name || job.id;
  const source = jobSource(job);
  return (
    <tr data-job-id={job.id} data-state={job.state} aria-selected={selected}>
      <td className="jp-mlp-Table-check">
        <input
          type="checkbox"
          aria-label={`Select ${name}`}
          checked={selected}
          onChange={onToggle}
        />
      </td>
      <td className="jp-mlp-Table-name">
        <button
          type="button"
          className="jp-mlp-LinkButton"
          title={`Show ${name} in the panel`}
          onClick={() => onOpen(job.id)}
        >
          {name}
        </button>
      </td>
      <td className="jp-mlp-Table-source" title={source}>
        {source}
      </td>
      <td className="jp-mlp-Table-rerun">
        {job.rerun_of && (
          <button
            type="button"
            className="jp-mlp-LinkButton"
            title={`Show ${formatJobRef(job.rerun_of)}, the job this one reran`}
            onClick={() => onOpen(job.rerun_of!.id)}
          >
            {formatJobRef(job.rerun_of)}
          </button>
        )}
      </td>
      <td>
        <StateBadge state={job.state} />
      </td>
      <td>
        {job.backend} · {job.kind}
      </td>
      <td className="jp-mlp-Table-num" title={formatTime(job.created_at)}>
        {formatShortTime(job.created_at, now)}
      </td>
      <td className="jp-mlp-Table-num">{formatJobDuration(job, now)}</td>
      <td className="jp-mlp-Table-num">{formatJobCost(job, now) ?? '—'}</td>
      <td>{formatGpu(job)}</td>
      {parameters.map(param => (
        <ParameterCell key={param} values={values} name={param} />
      ))}
      {metrics.map(metric => (
        <td key={metric} className="jp-mlp-Table-num jp-mlp-Table-metric">
          {formatMetric(lastMetric(job, metric))}
        </td>
      ))}
    </tr>
  );
}

/** A parameter's cell: the value, or its default muted and marked. */
function ParameterCell({
  values,
  name
}: {
  values: IParameterValues | undefined;
  name: string;
}): JSX.Element {
  if (values === undefined) {
    return <td className="jp-mlp-Table-num jp-mlp-Table-param">…</td>;
  }
  const entry = parameterValue(values, name);
  if (entry?.isDefault) {
    return (
      <td
        className="jp-mlp-Table-num jp-mlp-Table-param jp-mlp-Table-default"
        title="default"
        data-default="true"
      >
        {formatParameter(entry.value)}
      </td>
    );
  }
  return (
    <td className="jp-mlp-Table-num jp-mlp-Table-param">
      {formatParameter(entry?.value)}
    </td>
  );
}
