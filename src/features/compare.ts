/**
 * Comparing runs: one command opens the given jobs side by side in the main
 * area (or brings forward the tab already comparing them).
 */
import { CommandIDs } from '../commands';
import { CompareWidget } from '../compare/CompareView';
import { IJobsContext } from './context';

/** The command that compares jobs; its argument `ids` lists two or more job ids. */
export const COMPARE_JOBS = 'mlp:compare-jobs';

/** Register the command that compares jobs. */
export function addCompareCommand({ app, model }: IJobsContext): void {
  const { commands, shell } = app;
  const open = new Map<string, CompareWidget>();
  commands.addCommand(COMPARE_JOBS, {
    label: 'Compare ML Jobs',
    caption: 'Show the given jobs side by side: parameters, metrics, cost',
    execute: args => {
      const ids = Array.isArray(args.ids) ? args.ids.map(String) : [];
      if (ids.length < 2) {
        throw new Error('Compare needs two or more job ids (`ids`).');
      }
      const key = ids.join(' ');
      let widget = open.get(key);
      if (!widget || widget.isDisposed) {
        widget = new CompareWidget(model, ids, id => {
          void commands.execute(CommandIDs.openPanel, { id });
        });
        open.set(key, widget);
        widget.disposed.connect(() => open.delete(key));
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
    }
  });
}
