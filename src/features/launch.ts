/**
 * Launching a job: the launch form, and the commands that open it (from the
 * palette, the panel, a notebook's toolbar or the file browser's menu).
 */
import { Notification, showErrorMessage } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

import { IJobSubmission, ISchedule } from '../api';
import { CommandIDs } from '../commands';
import { mlpIcon } from '../icons';
import { JobNotifier } from '../panel/notifier';
import { previewText } from '../submit/scheduleChoice';
import { ISubmitDefaults } from '../submit/SubmitForm';
import { SubmitWidget } from '../submit/SubmitWidget';
import { IJobsContext } from './context';

/** Files that can run as a job. */
const RUNNABLE = /\.(ipynb|py)$/;

/** Opens the launch form, at a file or prefilled with a spec (a schedule's, to edit it). */
export type OpenSubmitForm = (
  path?: string,
  initial?: IJobSubmission,
  schedule?: ISchedule
) => SubmitWidget;

/** What launching needs beyond the shared context. */
export interface ILaunchOptions {
  docManager: IDocumentManager | null;
  fileBrowser: IDefaultFileBrowser | null;
  /** Says when a launched job ends. */
  notifier: JobNotifier;
  /** The form's defaults from the settings, as they are now. */
  defaults: () => ISubmitDefaults;
}

/** Register the launch commands; returns what opens the launch form. */
export function addLaunchCommands(
  context: IJobsContext,
  options: ILaunchOptions
): OpenSubmitForm {
  const { commands } = context.app;
  const openSubmitForm = submitFormOpener(context, options);
  const targetPath = runnableTarget(context, options);

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
      const { docManager } = options;
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

  return openSubmitForm;
}

/** Opens the launch form; once a job is submitted, the panel shows it (a schedule: the
 * Schedules tab, and a notification says when it runs next). */
function submitFormOpener(
  { app, client, model }: IJobsContext,
  { notifier, defaults }: ILaunchOptions
): OpenSubmitForm {
  return (path, initial, schedule) => {
    const form = new SubmitWidget({
      client,
      path,
      defaults: defaults(),
      initial,
      schedule,
      onSubmitted: job => {
        notifier.watch(job);
        void model.refresh();
        void app.commands.execute(CommandIDs.openPanel, { id: job.id });
      },
      onScheduled: saved => {
        const when = previewText(
          saved.cron,
          saved.timezone,
          saved.next_fire_at
        );
        Notification.success(`Schedule ${saved.name} saved: ${when}.`, {
          autoClose: 10000
        });
        void app.commands.execute(CommandIDs.openPanel, { view: 'schedules' });
      }
    });
    app.shell.add(form, 'main');
    app.shell.activateById(form.id);
    return form;
  };
}

/** The runnable file a command is about: its args, the file browser, or the active document. */
function runnableTarget(
  { app }: IJobsContext,
  { docManager, fileBrowser }: ILaunchOptions
): (args: Record<string, unknown>) => string | null {
  return args => {
    if (typeof args.path === 'string') {
      return args.path;
    }
    if (args.from === 'filebrowser') {
      const item = fileBrowser?.selectedItems().next();
      const selected = item && !item.done ? item.value : undefined;
      return selected && RUNNABLE.test(selected.path) ? selected.path : null;
    }
    const widget = app.shell.currentWidget;
    const context = widget ? docManager?.contextForWidget(widget) : undefined;
    return context && RUNNABLE.test(context.path) ? context.path : null;
  };
}
