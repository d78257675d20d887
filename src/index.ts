/**
 * jupyter-mlp: launch and watch ML training and ETL jobs from JupyterLab.
 * The plugin wires its features (`features/`) together; each registers its
 * commands once, and menus, the palette and toolbars reuse them.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { MLPClient } from './api';
import { ServerBackends } from './backends';
import { CommandIDs } from './commands';
import { addCompareCommand } from './features/compare';
import { IJobsContext } from './features/context';
import { addJobCommands } from './features/jobCommands';
import { addLaunchCommands } from './features/launch';
import { addLogTabs } from './features/logs';
import { followSettings } from './features/settings';
import { addJobsPanel } from './features/sidebar';
import { OPEN_TABLE, addJobsTable } from './features/table';
import { JobsModel } from './panel/model';
import { JobNotifier } from './panel/notifier';
import { ISubmitDefaults, NO_DEFAULTS } from './submit/SubmitForm';
import { optionPanelsPlugin } from './plugins/options';

const PLUGIN_ID = 'jupyter-mlp:plugin';
const PALETTE_CATEGORY = 'ML Jobs';
/** The commands the palette lists, in its order. */
const PALETTE_COMMANDS = [
  CommandIDs.openPanel,
  CommandIDs.submitJob,
  CommandIDs.runAsJob,
  CommandIDs.refresh,
  OPEN_TABLE
];

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
    const { serviceManager } = app;
    const client = new MLPClient(serviceManager.serverSettings);
    const model = new JobsModel({
      client,
      events: serviceManager.events.stream
    });
    const context: IJobsContext = {
      app,
      client,
      model,
      backends: new ServerBackends(client)
    };
    let defaults: ISubmitDefaults = NO_DEFAULTS;

    // A job launched from here says when it ends, with a button that shows it.
    const notifier = new JobNotifier(
      model,
      id => void app.commands.execute(CommandIDs.openPanel, { id })
    );
    const openSubmitForm = addLaunchCommands(context, {
      docManager,
      fileBrowser,
      notifier,
      defaults: () => defaults
    });
    addJobsPanel(context, { restorer, docManager, notifier, openSubmitForm });
    addJobCommands(context);
    addJobsTable(context, restorer);
    addCompareCommand(context);
    addLogTabs(context, restorer);

    for (const command of PALETTE_COMMANDS) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
    if (settingRegistry) {
      followSettings(settingRegistry, PLUGIN_ID, model, value => {
        defaults = value;
      });
    }
  }
};

/** The extension's plugins: each further plugin is one more entry. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [plugin, optionPanelsPlugin];

export default plugins;
