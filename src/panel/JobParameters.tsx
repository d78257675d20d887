/**
 * Every parameter value a job ran with (defaults marked) and the warnings
 * its checks gave at submit.
 */
import * as React from 'react';

import { IJob } from '../api';
import { runParameters } from './describe';

export function JobParameters({ job }: { job: IJob }): JSX.Element | null {
  const rows = runParameters(job);
  const warnings = job.warnings ?? [];
  if (!rows.length && !warnings.length) {
    return null;
  }
  return (
    <>
      {warnings.length > 0 && (
        <ul className="jp-mlp-JobWarnings" aria-label="Warnings at submit">
          {warnings.map((warning, index) => (
            <li key={index} data-field={warning.field}>
              <span className="jp-mlp-JobWarnings-field">{warning.field}</span>:{' '}
              {warning.message}
            </li>
          ))}
        </ul>
      )}
      {rows.length > 0 && (
        <>
          <h4 className="jp-mlp-JobDetail-section">Parameters</h4>
          <dl
            className="jp-mlp-JobDetail-fields jp-mlp-RunParameters"
            aria-label="Parameters"
          >
            {rows.map(row => (
              <React.Fragment key={row.name}>
                <dt>{row.name}</dt>
                <dd className={row.isDefault ? 'jp-mod-default' : undefined}>
                  <code>{row.value}</code>
                  {row.isDefault && (
                    <span className="jp-mlp-JobDetail-dim"> (default)</span>
                  )}
                </dd>
              </React.Fragment>
            ))}
          </dl>
        </>
      )}
    </>
  );
}
