/**
 * The plugin's settings (`schema/plugin.json`): the job list's poll interval
 * and the launch form's defaults, applied now and whenever they change.
 */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { JobsModel } from '../panel/model';
import { ISubmitDefaults } from '../submit/SubmitForm';

/**
 * Load the plugin's settings and follow their changes: the job list polls at
 * their interval, and `setDefaults` receives the launch form's defaults.
 */
export function followSettings(
  registry: ISettingRegistry,
  pluginId: string,
  model: JobsModel,
  setDefaults: (defaults: ISubmitDefaults) => void
): void {
  const apply = (settings: ISettingRegistry.ISettings) => {
    model.pollInterval = settings.get('pollInterval').composite as number;
    setDefaults(readDefaults(settings));
  };
  registry
    .load(pluginId)
    .then(settings => {
      apply(settings);
      settings.changed.connect(apply);
    })
    .catch(reason =>
      console.error('jupyter-mlp: could not load settings', reason)
    );
}

/** The launch form's defaults from the settings. */
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
