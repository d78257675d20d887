/**
 * jupyter-mlp: launch and watch ML training and ETL jobs from JupyterLab.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IJob, MLPClient } from './api';
import { CommandIDs } from './commands';
import { mlpIcon } from './icons';
import { JobsPanel } from './panel/JobsPanel';
import { JobsModel } from './panel/model';

const PLUGIN_ID = 'jupyter-mlp:plugin';
const PALETTE_CATEGORY = 'ML Jobs';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A sidebar panel that lists ML jobs and follows their state.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const { commands, serviceManager } = app;
    const client = new MLPClient(serviceManager.serverSettings);
    const model = new JobsModel({
      client,
      events: serviceManager.events.stream
    });

    const panel = new JobsPanel(model, {
      cancel: job =>
        void commands.execute(CommandIDs.cancelJob, {
          id: job.id,
          name: job.name
        }),
      rerun: async (job: IJob) => {
        try {
          const created = await client.rerunJob(job.id);
          void model.refresh();
          return created;
        } catch (error) {
          void showErrorMessage('Could not run the job again', error as Error);
          return null;
        }
      },
      refresh: () => void commands.execute(CommandIDs.refresh),
      openPath: (path, isFolder) => {
        if (isFolder) {
          void commands.execute('filebrowser:go-to-path', { path });
        } else {
          // Logs have no registered file type; open them as text.
          const factory = path.endsWith('.ipynb') ? undefined : 'Editor';
          void commands.execute('docmanager:open', { path, factory });
        }
      }
    });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'jupyter-mlp-panel');
    model.start();

    commands.addCommand(CommandIDs.openPanel, {
      label: 'Show ML Jobs',
      caption: 'Open the ML jobs panel',
      icon: args => (args.isPalette ? undefined : mlpIcon),
      execute: () => app.shell.activateById(panel.id)
    });

    commands.addCommand(CommandIDs.cancelJob, {
      label: args => (args.name ? `Cancel Job ${args.name}` : 'Cancel Job'),
      caption: 'Ask the backend to stop a queued or running job',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'The id of the job to cancel' },
            name: { type: 'string', description: 'The job name (for labels)' }
          },
          required: ['id']
        }
      },
      execute: async args => {
        const id = args.id as string | undefined;
        if (!id) {
          return;
        }
        try {
          await client.cancelJob(id);
        } catch (error) {
          void showErrorMessage('Could not cancel the job', error as Error);
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

    if (palette) {
      for (const command of [CommandIDs.openPanel, CommandIDs.refresh]) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        model.pollInterval = settings.get('pollInterval').composite as number;
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

export default plugin;
