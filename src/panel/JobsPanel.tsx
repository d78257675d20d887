/**
 * The left-sidebar widget: the job list, or one job in detail.
 */
import { ReactWidget, UseSignal, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';
import { useEffect, useState } from 'react';

import { IJob } from '../api';
import { mlpIcon } from '../icons';
import { JobDetail } from './JobDetail';
import { JobList } from './JobList';
import { JobsModel } from './model';

/** What the panel asks of the application (commands, opening files). */
export interface IPanelActions {
  cancel: (job: IJob) => void;
  rerun: (job: IJob) => Promise<IJob | null>;
  refresh: () => void;
  openPath: (path: string, isFolder: boolean) => void;
}

export class JobsPanel extends ReactWidget {
  constructor(
    readonly model: JobsModel,
    private readonly _actions: IPanelActions
  ) {
    super();
    this.id = 'jupyter-mlp-panel';
    this.addClass('jp-mlp-Panel');
    this.title.icon = mlpIcon;
    this.title.caption = 'ML jobs';
  }

  protected render(): JSX.Element {
    return <PanelBody model={this.model} actions={this._actions} />;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setVisible(false);
  }
}

function PanelBody({
  model,
  actions
}: {
  model: JobsModel;
  actions: IPanelActions;
}): JSX.Element {
  const [selected, setSelected] = useState<string | null>(null);
  const [revision, setRevision] = useState(0);

  useEffect(() => {
    if (selected === null) {
      return;
    }
    const onJobState = (_: JobsModel, event: { job_id: string }) => {
      if (event.job_id === selected) {
        setRevision(r => r + 1);
      }
    };
    model.jobStateChanged.connect(onJobState);
    return () => {
      model.jobStateChanged.disconnect(onJobState);
    };
  }, [model, selected]);

  return (
    <div className="jp-mlp-PanelBody">
      <div className="jp-mlp-PanelHeader">
        <h2 className="jp-mlp-PanelHeader-title">ML jobs</h2>
        <button
          className="jp-mlp-IconButton"
          onClick={actions.refresh}
          aria-label="Refresh the job list"
          title="Refresh"
        >
          <refreshIcon.react tag="span" elementSize="normal" />
        </button>
      </div>
      <UseSignal signal={model.changed}>
        {() =>
          selected === null ? (
            <JobList
              jobs={model.jobs}
              loaded={model.loaded}
              error={model.error}
              onOpen={job => setSelected(job.id)}
              onCancel={actions.cancel}
            />
          ) : (
            <JobDetail
              client={model.client}
              jobId={selected}
              listed={model.find(selected)}
              revision={revision}
              onBack={() => setSelected(null)}
              onCancel={actions.cancel}
              onRerun={job =>
                void actions.rerun(job).then(created => {
                  if (created) {
                    setSelected(created.id);
                  }
                })
              }
              onOpenPath={actions.openPath}
            />
          )
        }
      </UseSignal>
    </div>
  );
}
