/**
 * The jobs panel in the left sidebar: the list, one job in detail, and what
 * it opens (the launch form, files, a notebook at a cell, a job's log tab);
 * the command that shows it, at one job when given its id.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { showErrorMessage } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';

import { IJob } from '../api';
import { CommandIDs } from '../commands';
import { mlpIcon } from '../icons';
import { JobsPanel } from '../panel/JobsPanel';
import { JobNotifier } from '../panel/notifier';
import { IJobsContext } from './context';
import { OPEN_LOG } from './logs';
import { OPEN_TABLE } from './table';
import { OpenSubmitForm } from './launch';

/** What the panel needs beyond the shared context. */
export interface ISidebarOptions {
  restorer: ILayoutRestorer | null;
  docManager: IDocumentManager | null;
  /** Says when a job run again ends. */
  notifier: JobNotifier;
  openSubmitForm: OpenSubmitForm;
}

/** Add the jobs panel to the left sidebar and register the command that shows it. */
export function addJobsPanel(
  context: IJobsContext,
  options: ISidebarOptions
): JobsPanel {
  const { app, client, model, backends } = context;
  const { commands, shell } = app;
  const { docManager, notifier, openSubmitForm } = options;

  const panel = new JobsPanel(model, backends, {
    cancel: job =>
      void commands.execute(CommandIDs.cancelJob, {
        id: job.id,
        name: job.name
      }),
    rerun: async (job: IJob) => {
      try {
        const created = await client.rerunJob(job.id);
        notifier.watch(created);
        void model.refresh();
        return created;
      } catch (error) {
        void showErrorMessage('Could not run the job again', error as Error);
        return null;
      }
    },
    rerunWithChanges: (job: IJob) => void openSubmitForm(undefined, job.spec),
    remove: async (job: IJob) =>
      (await commands.execute(CommandIDs.deleteJob, {
        id: job.id,
        name: job.name
      })) === true,
    refresh: () => void commands.execute(CommandIDs.refresh),
    launch: () => void commands.execute(CommandIDs.submitJob),
    openTable: () => void commands.execute(OPEN_TABLE),
    openPath: (path, isFolder) => {
      if (isFolder) {
        void commands.execute('filebrowser:go-to-path', { path });
      } else {
        // Logs have no registered file type; open them as text.
        const factory = path.endsWith('.ipynb') ? undefined : 'Editor';
        void commands.execute('docmanager:open', { path, factory });
      }
    },
    openNotebookAt: (path, cellIndex, cellId) =>
      void openNotebookAt(docManager, path, cellIndex, cellId),
    openLog: job =>
      void commands.execute(OPEN_LOG, {
        id: job.id,
        name: job.name || job.id,
        state: job.state
      }),
    editSchedule: schedule =>
      void openSubmitForm(undefined, schedule.spec, schedule),
    runStarted: job => {
      notifier.watch(job);
      void model.refresh();
      panel.showJob(job.id);
    }
  });
  shell.add(panel, 'left', { rank: 850 });
  options.restorer?.add(panel, 'jupyter-mlp-panel');
  model.start();

  commands.addCommand(CommandIDs.openPanel, {
    label: 'Show ML Jobs',
    caption:
      'Open the ML jobs panel (at one job when given its id, or at its schedules)',
    icon: args => (args.isPalette ? undefined : mlpIcon),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'A job to show in detail' },
          view: {
            type: 'string',
            description: '"schedules" to show the Schedules tab'
          }
        }
      }
    },
    execute: args => {
      if (typeof args.id === 'string' && args.id) {
        panel.showJob(args.id);
      } else if (args.view === 'schedules' || args.view === 'jobs') {
        panel.showView(args.view);
      }
      shell.activateById(panel.id);
    }
  });
  return panel;
}

/** The part of a notebook widget this extension uses (no dependency on @jupyterlab/notebook). */
interface INotebookLike {
  activeCellIndex: number;
  widgets: readonly { model: { id: string } }[];
  scrollToItem(index: number, behavior?: string): Promise<void>;
}

/**
 * Open a notebook with a cell active and in view: the one with id `cellId`
 * when it still has it, else the one at `cellIndex` (0-based).
 */
async function openNotebookAt(
  docManager: IDocumentManager | null,
  path: string,
  cellIndex: number,
  cellId?: string | null
): Promise<void> {
  const widget = docManager?.openOrReveal(path);
  if (!widget) {
    void showErrorMessage(
      'Could not open the notebook',
      `No editor for ${path}`
    );
    return;
  }
  await widget.context.ready;
  await widget.revealed;
  const notebook = (widget as unknown as { content?: INotebookLike }).content;
  if (!notebook || typeof notebook.scrollToItem !== 'function') {
    return;
  }
  const byId = cellId
    ? (notebook.widgets ?? []).findIndex(cell => cell.model.id === cellId)
    : -1;
  notebook.activeCellIndex = byId >= 0 ? byId : cellIndex;
  await notebook.scrollToItem(notebook.activeCellIndex, 'center');
}
