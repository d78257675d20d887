/**
 * The commands that act on one job (cancel, delete) and refresh the list;
 * the panel and the palette go through them. Each asks before it acts.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';

import { CommandIDs } from '../commands';
import { IJobsContext } from './context';

/** Register the cancel, delete and refresh commands. */
export function addJobCommands({ app, client, model }: IJobsContext): void {
  const { commands } = app;

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

  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh ML Jobs',
    caption: 'Fetch the job list again',
    execute: () => model.refresh()
  });
}

/** Ask before an action that cannot be undone; true when the person confirmed. */
export async function confirmAction(
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
