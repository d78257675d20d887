/**
 * One schedule in the panel: when it runs, its source snapshot ("Update from
 * file" takes a new one), and its runs side by side with their parameters,
 * metric and cost; a run opens in the job detail.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { caretLeftIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, ISchedule, MLPClient } from '../api';
import { fireTimeText } from '../submit/scheduleChoice';
import { IconButton } from './IconButton';
import { nextText, runsTable, whenText } from './schedulesModel';
import { StateBadge } from './StateBadge';

/** How many of its latest runs the detail compares. */
const COMPARED_RUNS = 20;

function useRuns(client: MLPClient, scheduleId: string, revision: number) {
  const [runs, setRuns] = React.useState<IJob[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let cancelled = false;
    client
      .listJobs({ schedule_id: scheduleId, limit: COMPARED_RUNS })
      // The list's specs are slim: the whole jobs have the parameters.
      .then(page => Promise.all(page.jobs.map(job => client.getJob(job.id))))
      .then(
        jobs => {
          if (!cancelled) {
            setRuns(jobs);
            setError(null);
          }
        },
        (failure: Error) => {
          if (!cancelled) {
            setError(failure.message);
          }
        }
      );
    return () => {
      cancelled = true;
    };
  }, [client, scheduleId, revision]);
  return { runs, error };
}

export function ScheduleDetail(props: {
  client: MLPClient;
  schedule: ISchedule;
  /** Changes when the schedule's runs may have changed. */
  revision: number;
  onBack: () => void;
  onOpenJob: (id: string) => void;
  onChanged: () => void;
}): JSX.Element {
  const { client, schedule } = props;
  const { runs, error } = useRuns(client, schedule.id, props.revision);
  const table = runs ? runsTable(runs, schedule.timezone) : null;
  const refreshSource = () =>
    void client
      .updateSchedule(schedule.id, { refresh_source: true })
      .then(props.onChanged)
      .catch(failure =>
        showErrorMessage('Could not update from the file', failure as Error)
      );
  return (
    <div className="jp-mlp-ScheduleDetail">
      <div className="jp-mlp-JobDetail-header">
        <IconButton
          icon={caretLeftIcon}
          label="Back to the schedules"
          title="Back"
          onClick={props.onBack}
        />
        <h3 className="jp-mlp-ScheduleDetail-name">{schedule.name}</h3>
      </div>
      <dl className="jp-mlp-ScheduleDetail-facts">
        <dt>When</dt>
        <dd>{whenText(schedule)}</dd>
        <dt>Next run</dt>
        <dd>{nextText(schedule)}</dd>
        <dt>Source</dt>
        <dd>
          {schedule.spec.source.path ?? 'cell code'}
          {schedule.source_snapshot_at &&
            `, as of ${fireTimeText(schedule.source_snapshot_at, schedule.timezone)}`}
          {schedule.spec.source.path && (
            <button
              type="button"
              className="jp-mlp-TextButton"
              onClick={refreshSource}
              title="Runs use a copy of the file taken when the schedule was saved: take a new one"
            >
              Update from file
            </button>
          )}
        </dd>
      </dl>
      <h4>Runs</h4>
      {error && (
        <div className="jp-mlp-Error" role="alert">
          Could not list the runs: {error}
        </div>
      )}
      {table && table.rows.length === 0 && <p>No runs yet.</p>}
      {table && table.rows.length > 0 && (
        <div className="jp-mlp-ScheduleRuns-scroll">
          <table className="jp-mlp-ScheduleRuns">
            <thead>
              <tr>
                <th scope="col">Run for</th>
                <th scope="col">State</th>
                {table.columns.map(column => (
                  <th scope="col" key={column}>
                    {column}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map(row => (
                <tr key={row.id}>
                  <td>
                    <button
                      type="button"
                      className="jp-mlp-LinkButton"
                      onClick={() => props.onOpenJob(row.id)}
                      title="Show this run"
                    >
                      {row.when}
                    </button>
                  </td>
                  <td>
                    <StateBadge state={row.state} />
                  </td>
                  {row.cells.map((cell, index) => (
                    <td key={index}>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
