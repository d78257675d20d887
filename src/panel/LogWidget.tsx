/**
 * A job's log in a main-area tab (kept apart from LogView so the view stays
 * free of Lumino widgets).
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { JobState, TERMINAL_STATES } from '../api';
import { mlpIcon } from '../icons';
import { LogView } from './LogView';
import type { IJobStateEvent, JobsModel } from './model';

/**
 * A job's log in a main-area tab, following it like the panel's log does
 * until the job ends.
 */
export class LogWidget extends ReactWidget {
  constructor(
    private readonly _model: JobsModel,
    readonly jobId: string,
    name: string,
    state: JobState
  ) {
    super();
    this.id = `jp-mlp-log-${jobId}`;
    this.addClass('jp-mlp-LogWidget');
    this.title.label = `Log: ${name}`;
    this.title.caption = `The log of job ${name} (${jobId})`;
    this.title.icon = mlpIcon;
    this.title.closable = true;
    this._live = !TERMINAL_STATES.has(state);
    _model.jobStateChanged.connect(this._onState, this);
  }

  dispose(): void {
    this._model.jobStateChanged.disconnect(this._onState, this);
    super.dispose();
  }

  protected render(): JSX.Element {
    return (
      <LogView
        client={this._model.client}
        jobId={this.jobId}
        live={this._live}
        resizable={false}
      />
    );
  }

  private _onState(_: JobsModel, event: IJobStateEvent): void {
    if (event.job_id === this.jobId) {
      this._live = !TERMINAL_STATES.has(event.state as JobState);
      this.update();
    }
  }

  private _live: boolean;
}
