/**
 * A job's log in a main-area tab, one tab per job, opened by one command
 * (from the panel, or by the layout restorer after a page reload).
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';

import { JobState } from '../api';
import { LogWidget } from '../panel/LogWidget';
import { IJobsContext } from './context';

/** The command that opens a job's log tab: `{ id, name?, state? }`. */
export const OPEN_LOG = 'mlp:open-log';

/** Register the command that opens a job's log tab; restore the tabs open before a reload. */
export function addLogTabs(
  context: IJobsContext,
  restorer: ILayoutRestorer | null
): void {
  const { app, client, model } = context;
  const tracker = new WidgetTracker<LogWidget>({
    namespace: 'jupyter-mlp-log'
  });
  app.commands.addCommand(OPEN_LOG, {
    label: 'Open Job Log',
    caption: "Show a job's log in a tab of its own",
    describedBy: {
      args: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'The job whose log to show' },
          name: { type: 'string', description: "The job's name" },
          state: { type: 'string', description: "The job's state" }
        },
        required: ['id']
      }
    },
    execute: async args => {
      const id = String(args.id ?? '');
      const tabId = `jp-mlp-log-${id}`;
      let widget = Array.from(app.shell.widgets('main')).find(
        w => w.id === tabId
      );
      if (!widget) {
        // A restored tab knows only its job's id: its name and state are the server's now.
        const job =
          typeof args.name === 'string' && typeof args.state === 'string'
            ? { name: args.name, state: args.state as JobState }
            : await client.getJob(id);
        const log = new LogWidget(model, id, job.name || id, job.state);
        app.shell.add(log, 'main', { mode: 'split-bottom' });
        await tracker.add(log);
        widget = log;
      }
      app.shell.activateById(widget.id);
      return widget;
    }
  });
  void restorer?.restore(tracker, {
    command: OPEN_LOG,
    args: widget => ({ id: widget.jobId }),
    name: widget => widget.jobId
  });
}
