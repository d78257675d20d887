/**
 * The panel's Schedules view: each schedule with when it runs, its next run,
 * its last runs' states as a strip of small marks, and pause or resume, run
 * now, edit and delete (after asking).
 */
import {
  Dialog,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import {
  deleteIcon,
  editIcon,
  runIcon,
  UseSignal
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, ISchedule } from '../api';
import { IconButton } from './IconButton';
import { IRunMark, IScheduleRow, SchedulesModel } from './schedulesModel';

/** A mark's symbol, so that colour is never the only cue. */
const SYMBOLS: Record<IRunMark['kind'], string> = {
  succeeded: '✓',
  failed: '✕',
  cancelled: '⊘',
  running: '●',
  started: '▸',
  queued: '…',
  skipped: '–',
  missed: '?'
};

export interface IScheduleActions {
  openSchedule: (id: string) => void;
  openJob: (id: string) => void;
  edit: (schedule: ISchedule) => void;
  /** A run started with "Run now". */
  started: (job: IJob) => void;
}

/** The last runs' states, oldest first; a mark with a run opens it. */
export function RunStrip(props: {
  marks: IRunMark[];
  onOpenJob: (id: string) => void;
}): JSX.Element {
  if (props.marks.length === 0) {
    return (
      <span className="jp-mlp-RunStrip jp-mlp-RunStrip-empty">No runs yet</span>
    );
  }
  return (
    <span className="jp-mlp-RunStrip" aria-label="Last runs, oldest first">
      {props.marks.map(mark => {
        const className = `jp-mlp-RunMark jp-mlp-RunMark-${mark.kind}`;
        return mark.jobId ? (
          <button
            key={mark.key}
            type="button"
            className={className}
            title={mark.title}
            aria-label={mark.title}
            onClick={() => props.onOpenJob(mark.jobId!)}
          >
            {SYMBOLS[mark.kind]}
          </button>
        ) : (
          <span
            key={mark.key}
            className={className}
            title={mark.title}
            role="img"
            aria-label={mark.title}
          >
            {SYMBOLS[mark.kind]}
          </span>
        );
      })}
    </span>
  );
}

async function confirmDelete(row: IScheduleRow): Promise<boolean> {
  const answer = await showDialog({
    title: `Delete the schedule ${row.name}?`,
    body: 'It will not run again. Its runs stay in the job list.',
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Delete schedule' })
    ]
  });
  return answer.button.accept;
}

function ScheduleItem(props: {
  row: IScheduleRow;
  model: SchedulesModel;
  actions: IScheduleActions;
}): JSX.Element {
  const { row, model, actions } = props;
  const act = (what: string, action: () => Promise<unknown>) =>
    void action().catch(error =>
      showErrorMessage(`Could not ${what} ${row.name}`, error as Error)
    );
  return (
    <li
      className={`jp-mlp-ScheduleItem${row.paused ? ' jp-mod-paused' : ''}`}
      data-schedule-id={row.id}
    >
      <button
        type="button"
        className="jp-mlp-ScheduleItem-name"
        onClick={() => actions.openSchedule(row.id)}
        title={`Show ${row.name} and its runs`}
      >
        {row.name}
      </button>
      <div className="jp-mlp-ScheduleItem-when">{row.when}</div>
      <div className="jp-mlp-ScheduleItem-next">
        {row.paused ? 'Paused' : `Next: ${row.next}`}
      </div>
      <RunStrip marks={row.marks} onOpenJob={actions.openJob} />
      <div className="jp-mlp-ScheduleItem-actions">
        <button
          type="button"
          className="jp-mlp-TextButton"
          onClick={() =>
            act(row.paused ? 'resume' : 'pause', () =>
              model.setPaused(row.id, !row.paused)
            )
          }
        >
          {row.paused ? 'Resume' : 'Pause'}
        </button>
        <IconButton
          icon={runIcon}
          label={`Run ${row.name} now`}
          title="Run now"
          onClick={() =>
            act('run', async () => {
              const job = await model.runNow(row.id);
              if (job) {
                actions.started(job);
              } else {
                // A cloud schedule's run is started by Cloud Scheduler, not here.
                Notification.info(
                  `Cloud Scheduler was asked to run ${row.name} now; the run shows here once Vertex AI has it.`,
                  { autoClose: 10000 }
                );
              }
            })
          }
        />
        <IconButton
          icon={editIcon}
          label={`Edit ${row.name}`}
          title="Edit the schedule"
          onClick={() => {
            const schedule = model.find(row.id);
            if (schedule) {
              actions.edit(schedule);
            }
          }}
        />
        <IconButton
          icon={deleteIcon}
          label={`Delete ${row.name}`}
          title="Delete the schedule"
          onClick={() =>
            act('delete', async () => {
              if (await confirmDelete(row)) {
                await model.remove(row.id);
              }
            })
          }
        />
      </div>
    </li>
  );
}

export function SchedulesView(props: {
  model: SchedulesModel;
  actions: IScheduleActions;
  onLaunch: () => void;
}): JSX.Element {
  const { model, actions } = props;
  React.useEffect(() => {
    void model.refresh();
  }, [model]);
  return (
    <UseSignal signal={model.changed}>
      {() => {
        if (model.error) {
          return (
            <div className="jp-mlp-Error" role="alert">
              Could not list the schedules: {model.error}
            </div>
          );
        }
        const rows = model.rows;
        if (model.loaded && rows.length === 0) {
          return (
            <div className="jp-mlp-Empty">
              <p>No schedules yet.</p>
              <p>
                Launch a job and choose “On a schedule” to run it every night,
                every hour or on weekdays.
              </p>
              <button
                type="button"
                className="jp-Button jp-mod-styled jp-mod-accept"
                onClick={props.onLaunch}
              >
                Launch a job…
              </button>
            </div>
          );
        }
        return (
          <ul className="jp-mlp-ScheduleList" aria-label="Schedules">
            {rows.map(row => (
              <ScheduleItem
                key={row.id}
                row={row}
                model={model}
                actions={actions}
              />
            ))}
          </ul>
        );
      }}
    </UseSignal>
  );
}
