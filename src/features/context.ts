/**
 * What the plugin's features share: the application, the server's client,
 * the job list and what each backend can do.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';

import { MLPClient } from '../api';
import { ServerBackends } from '../backends';
import { JobsModel } from '../panel/model';

export interface IJobsContext {
  app: JupyterFrontEnd;
  client: MLPClient;
  /** The job list every view shows; refreshed after each action on a job. */
  model: JobsModel;
  backends: ServerBackends;
}
