/**
 * The main-area jobs table: one command opens it (or brings it forward, or
 * brings it back after a page reload), and its cancel and delete act on many
 * jobs after one question.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { WidgetTracker, showErrorMessage } from '@jupyterlab/apputils';

import { JobSummary } from '../api';
import { CommandIDs } from '../commands';
import { JobsTableWidget } from '../table/JobsTable';
import { COMPARE_JOBS } from './compare';
import { IJobsContext } from './context';
import { confirmAction } from './jobCommands';

/** The command that opens the jobs table. */
export const OPEN_TABLE = 'mlp:open-table';

/** Register the command that opens the jobs table; restore it if it was open before a reload. */
export function addJobsTable(
  context: IJobsContext,
  restorer: ILayoutRestorer | null
): void {
  const { app, model } = context;
  const { commands, shell } = app;
  const tracker = new WidgetTracker<JobsTableWidget>({
    namespace: 'jupyter-mlp-table'
  });
  let table: JobsTableWidget | null = null;
  commands.addCommand(OPEN_TABLE, {
    label: 'Open ML Jobs Table',
    caption: 'Compare jobs side by side: sortable, with their parameters',
    execute: async () => {
      if (!table || table.isDisposed) {
        table = new JobsTableWidget(model, {
          open: id => void commands.execute(CommandIDs.openPanel, { id }),
          cancel: jobs => cancelJobs(context, jobs),
          remove: jobs => deleteJobs(context, jobs),
          compare: ids => void commands.execute(COMPARE_JOBS, { ids })
        });
        shell.add(table, 'main');
        await tracker.add(table);
      }
      shell.activateById(table.id);
      void model.refresh();
      return table;
    }
  });
  void restorer?.restore(tracker, { command: OPEN_TABLE, name: () => 'table' });
}

async function cancelJobs(
  context: IJobsContext,
  jobs: JobSummary[]
): Promise<void> {
  const names = jobs.map(job => job.name || job.id).join(', ');
  if (
    await confirmAction(
      `Cancel ${jobs.length} job${jobs.length === 1 ? '' : 's'}?`,
      `${names} stop and end as cancelled. Their logs and outputs so far are kept.`,
      'Keep running',
      'Cancel jobs'
    )
  ) {
    await actOnEach(
      context,
      jobs,
      job => context.client.cancelJob(job.id),
      'Could not cancel some jobs'
    );
  }
}

async function deleteJobs(
  context: IJobsContext,
  jobs: JobSummary[]
): Promise<void> {
  const names = jobs.map(job => job.name || job.id).join(', ');
  if (
    await confirmAction(
      `Delete ${jobs.length} job${jobs.length === 1 ? '' : 's'}?`,
      `${names} are removed from the list, and their folders (logs, outputs) are deleted.`,
      'Keep',
      'Delete jobs'
    )
  ) {
    await actOnEach(
      context,
      jobs,
      async job => {
        await context.client.deleteJob(job.id);
        context.model.remove(job.id);
      },
      'Could not delete some jobs'
    );
  }
}

/** Run `act` on each job; one dialog lists the jobs it could not act on. */
async function actOnEach(
  { model }: IJobsContext,
  jobs: JobSummary[],
  act: (job: JobSummary) => Promise<unknown>,
  failure: string
): Promise<void> {
  const results = await Promise.allSettled(jobs.map(act));
  const failed = results
    .map((result, index) =>
      result.status === 'rejected'
        ? `${jobs[index].name || jobs[index].id}: ${(result.reason as Error).message}`
        : null
    )
    .filter(Boolean);
  void model.refresh();
  if (failed.length) {
    void showErrorMessage(failure, failed.join('\n'));
  }
}
