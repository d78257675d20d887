/**
 * The panel's Schedules tab: the list of schedules, or one schedule with its
 * runs side by side.
 */
import { UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, ISchedule } from '../api';
import { ScheduleDetail } from './ScheduleDetail';
import { SchedulesModel } from './schedulesModel';
import { SchedulesView } from './SchedulesView';

export function SchedulesPane(props: {
  model: SchedulesModel;
  /** Changes when a job changed state: the shown runs may have. */
  revision: number;
  onOpenJob: (id: string) => void;
  onEdit: (schedule: ISchedule) => void;
  onRunStarted: (job: IJob) => void;
  onLaunch: () => void;
}): JSX.Element {
  const { model } = props;
  const [selected, setSelected] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (props.revision > 0) {
      void model.refresh();
    }
  }, [model, props.revision]);
  const actions = {
    openSchedule: setSelected,
    openJob: props.onOpenJob,
    edit: props.onEdit,
    started: props.onRunStarted
  };
  return (
    <div className="jp-mlp-SchedulesPane">
      {selected === null ? (
        <SchedulesView
          model={model}
          actions={actions}
          onLaunch={props.onLaunch}
        />
      ) : (
        <UseSignal signal={model.changed}>
          {() => {
            const schedule = model.find(selected);
            return schedule ? (
              <ScheduleDetail
                client={model.client}
                schedule={schedule}
                revision={props.revision}
                onBack={() => setSelected(null)}
                onOpenJob={props.onOpenJob}
                onChanged={() => void model.refresh()}
              />
            ) : (
              <p className="jp-mlp-Empty">
                This schedule was deleted.{' '}
                <button
                  type="button"
                  className="jp-mlp-LinkButton"
                  onClick={() => setSelected(null)}
                >
                  Back to the schedules
                </button>
              </p>
            );
          }}
        </UseSignal>
      )}
    </div>
  );
}
