/**
 * jupyter-mlp: launch and watch ML training and ETL jobs from JupyterLab.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IJob, IJobSubmission, MLPClient } from './api';
import { CommandIDs } from './commands';
import { mlpIcon } from './icons';
import { JobsPanel } from './panel/JobsPanel';
import { LogWidget } from './panel/LogWidget';
import { JobsModel } from './panel/model';
import { JobNotifier } from './panel/notifier';
import { ISubmitDefaults, NO_DEFAULTS } from './submit/SubmitForm';
import { SubmitWidget } from './submit/SubmitWidget';
import { JobsTableWidget } from './table/JobsTable';
import { optionPanelsPlugin } from './plugins/options';

const PLUGIN_ID = 'jupyter-mlp:plugin';
const PALETTE_CATEGORY = 'ML Jobs';
/** Files that can run as a job. */
const RUNNABLE = /\.(ipynb|py)$/;
/** The main-area jobs table (kept here while `commands.ts` is another helper's). */
const OPEN_TABLE = 'mlp:open-table';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A sidebar panel that lists ML jobs, and a form that launches them.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ISettingRegistry,
    IDocumentManager,
    IDefaultFileBrowser
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    docManager: IDocumentManager | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    const { commands, serviceManager, shell } = app;
    const client = new MLPClient(serviceManager.serverSettings);
    const model = new JobsModel({
      client,
      events: serviceManager.events.stream
    });
    let defaults: ISubmitDefaults = NO_DEFAULTS;

    const panel = new JobsPanel(model, {
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
      openNotebookAt: (path, cellIndex) =>
        void openNotebookAt(docManager, path, cellIndex),
      openLog: job => {
        const id = `jp-mlp-log-${job.id}`;
        if (!Array.from(shell.widgets('main')).some(w => w.id === id)) {
          shell.add(
            new LogWidget(model, job.id, job.name || job.id, job.state),
            'main',
            { mode: 'split-bottom' }
          );
        }
        shell.activateById(id);
      }
    });
    shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'jupyter-mlp-panel');
    model.start();
    const notifier = new JobNotifier(model, id => {
      panel.showJob(id);
      shell.activateById(panel.id);
    });

    /** Open the submit form; once submitted, show the job in the panel. */
    const openSubmitForm = (path?: string, initial?: IJobSubmission) => {
      const form = new SubmitWidget({
        client,
        path,
        defaults,
        initial,
        onSubmitted: job => {
          notifier.watch(job);
          void model.refresh();
          panel.showJob(job.id);
          shell.activateById(panel.id);
        }
      });
      shell.add(form, 'main');
      shell.activateById(form.id);
      return form;
    };

    /** The runnable file the command is about: its args, the file browser, or the active document. */
    const targetPath = (args: Record<string, unknown>): string | null => {
      if (typeof args.path === 'string') {
        return args.path;
      }
      if (args.from === 'filebrowser') {
        const item = fileBrowser?.selectedItems().next();
        const selected = item && !item.done ? item.value : undefined;
        return selected && RUNNABLE.test(selected.path) ? selected.path : null;
      }
      const widget = shell.currentWidget;
      const context = widget ? docManager?.contextForWidget(widget) : undefined;
      return context && RUNNABLE.test(context.path) ? context.path : null;
    };

    commands.addCommand(CommandIDs.openPanel, {
      label: 'Show ML Jobs',
      caption: 'Open the ML jobs panel (at one job when given its id)',
      icon: args => (args.isPalette ? undefined : mlpIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'A job to show in detail' }
          }
        }
      },
      execute: args => {
        if (typeof args.id === 'string' && args.id) {
          panel.showJob(args.id);
        }
        shell.activateById(panel.id);
      }
    });

    commands.addCommand(CommandIDs.submitJob, {
      label: 'Launch ML Job…',
      caption: 'Open the form that launches a training or ETL job',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              description: 'A notebook or script to run (optional)'
            }
          }
        }
      },
      execute: args =>
        openSubmitForm(typeof args.path === 'string' ? args.path : undefined)
    });

    commands.addCommand(CommandIDs.runAsJob, {
      label: 'Run as Job…',
      caption: 'Save this notebook or script and launch it as a job',
      icon: args => (args.isPalette ? undefined : mlpIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              description: 'The notebook or script (default: the active one)'
            },
            from: {
              type: 'string',
              description: '"filebrowser" to run the selected file'
            }
          }
        }
      },
      isEnabled: args => targetPath(args) !== null,
      execute: async args => {
        const path = targetPath(args);
        if (path === null) {
          return;
        }
        // The job reads the file from disk: save the open copy first.
        const widget = docManager?.findWidget(path);
        const context = widget ? docManager?.contextForWidget(widget) : null;
        if (context && context.contentsModel?.writable !== false) {
          try {
            await context.save();
          } catch (error) {
            void showErrorMessage(`Could not save ${path}`, error as Error);
            return;
          }
        }
        return openSubmitForm(path);
      }
    });

    commands.addCommand(CommandIDs.cancelJob, {
      label: args => (args.name ? `Cancel Job ${args.name}` : 'Cancel Job'),
      caption: 'Ask the backend to stop a queued or running job',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'The id of the job to cancel' },
            name: { type: 'string', description: 'The job name (for labels)' },
            confirm: {
              type: 'boolean',
              description: 'Ask before cancelling (default true)'
            }
          },
          required: ['id']
        }
      },
      execute: async args => {
        const id = args.id as string | undefined;
        if (!id) {
          return false;
        }
        if (
          args.confirm !== false &&
          !(await confirmAction(
            'Cancel this job?',
            `${args.name || id} stops and ends as cancelled. Its log and outputs so far are kept.`,
            'Keep running',
            'Cancel job'
          ))
        ) {
          return false;
        }
        try {
          await client.cancelJob(id);
          return true;
        } catch (error) {
          void showErrorMessage('Could not cancel the job', error as Error);
          return false;
        } finally {
          void model.refresh();
        }
      }
    });

    commands.addCommand(CommandIDs.deleteJob, {
      label: args => (args.name ? `Delete Job ${args.name}` : 'Delete Job'),
      caption: 'Forget an ended job and remove its folder',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'The id of the job to delete' },
            name: { type: 'string', description: 'The job name (for labels)' }
          },
          required: ['id']
        }
      },
      execute: async args => {
        const id = args.id as string | undefined;
        if (!id) {
          return false;
        }
        if (
          !(await confirmAction(
            'Delete this job?',
            `${args.name || id} is removed from the list, and its folder (log, outputs) is deleted.`,
            'Keep',
            'Delete'
          ))
        ) {
          return false;
        }
        try {
          await client.deleteJob(id);
          model.remove(id);
          return true;
        } catch (error) {
          void showErrorMessage('Could not delete the job', error as Error);
          return false;
        } finally {
          void model.refresh();
        }
      }
    });

    /** Run `act` on each job; one dialog lists the jobs it could not act on. */
    const actOnEach = async (
      jobs: IJob[],
      act: (job: IJob) => Promise<unknown>,
      failure: string
    ) => {
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
    };

    let table: JobsTableWidget | null = null;
    commands.addCommand(OPEN_TABLE, {
      label: 'Open ML Jobs Table',
      caption: 'Compare jobs side by side: sortable, with their parameters',
      execute: () => {
        if (!table || table.isDisposed) {
          table = new JobsTableWidget(model, {
            open: id => void commands.execute(CommandIDs.openPanel, { id }),
            cancel: async jobs => {
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
                  jobs,
                  job => client.cancelJob(job.id),
                  'Could not cancel some jobs'
                );
              }
            },
            remove: async jobs => {
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
                  jobs,
                  async job => {
                    await client.deleteJob(job.id);
                    model.remove(job.id);
                  },
                  'Could not delete some jobs'
                );
              }
            }
          });
          shell.add(table, 'main');
        }
        shell.activateById(table.id);
        void model.refresh();
      }
    });

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh ML Jobs',
      caption: 'Fetch the job list again',
      execute: () => model.refresh()
    });

    if (palette) {
      for (const command of [
        CommandIDs.openPanel,
        CommandIDs.submitJob,
        CommandIDs.runAsJob,
        CommandIDs.refresh,
        OPEN_TABLE
      ]) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        model.pollInterval = settings.get('pollInterval').composite as number;
        defaults = readDefaults(settings);
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason =>
          console.error('jupyter-mlp: could not load settings', reason)
        );
    }
  }
};

/** The submit form's defaults from the settings. */
function readDefaults(settings: ISettingRegistry.ISettings): ISubmitDefaults {
  const text = (key: string) => {
    const value = settings.get(key).composite;
    return typeof value === 'string' ? value.trim() : '';
  };
  const resources = (settings.get('defaultResources').composite ?? {}) as {
    machine_type?: string;
    accelerator_type?: string;
    accelerator_count?: number;
  };
  return {
    backend: text('defaultBackend'),
    region: text('defaultRegion'),
    machineType: resources.machine_type ?? '',
    acceleratorType: resources.accelerator_type ?? '',
    acceleratorCount: resources.accelerator_count ?? 0
  };
}

export default [plugin, optionPanelsPlugin];

/** The part of a notebook widget this extension uses (no dependency on @jupyterlab/notebook). */
interface INotebookLike {
  activeCellIndex: number;
  scrollToItem(index: number, behavior?: string): Promise<void>;
}

/** Open a notebook with its cell `cellIndex` (0-based) active and in view. */
async function openNotebookAt(
  docManager: IDocumentManager | null,
  path: string,
  cellIndex: number
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
  notebook.activeCellIndex = cellIndex;
  await notebook.scrollToItem(notebook.activeCellIndex, 'center');
}

/** Ask before an action that cannot be undone; true when the person confirmed. */
async function confirmAction(
  title: string,
  body: string,
  keepLabel: string,
  actLabel: string
): Promise<boolean> {
  const answer = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: keepLabel }),
      Dialog.warnButton({ label: actLabel })
    ]
  });
  return answer.button.accept;
}
