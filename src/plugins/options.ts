/**
 * The plugin that provides `IOptionPanels`, the launch form's option panels,
 * with this package's own registered.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { IOptionPanels, OptionPanelRegistry, optionPanels } from '../tokens';
import { registerSubmitPanels } from '../submit/panels';

// Registered as the module loads, not on activation: a form opened by a plugin
// activated earlier still has its panels.
registerSubmitPanels(optionPanels);

export const optionPanelsPlugin: JupyterFrontEndPlugin<OptionPanelRegistry> = {
  id: 'jupyter-mlp:option-panels',
  description:
    "The launch form's option panels, chosen by the backend's capabilities.",
  autoStart: true,
  provides: IOptionPanels,
  activate: (): OptionPanelRegistry => optionPanels
};
