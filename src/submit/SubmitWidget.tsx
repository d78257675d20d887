/**
 * The submit form as a main-area tab ("Launch job"), closed once the job is
 * submitted.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { IJob, IJobSubmission, ISchedule, MLPClient } from '../api';
import { mlpIcon } from '../icons';
import { ISubmitDefaults, SubmitForm } from './SubmitForm';

/** Each form gets its own id, so several can be open at once. */
let nextId = 0;

export namespace SubmitWidget {
  export interface IOptions {
    client: MLPClient;
    /** The notebook or script to run; without it the form asks. */
    path?: string;
    defaults: ISubmitDefaults;
    /** A job's spec to start from (rerun with changes). */
    initial?: IJobSubmission;
    /** Called with the new job; the widget closes itself afterwards. */
    onSubmitted: (job: IJob) => void;
    /** A schedule to edit (its spec is `initial`). */
    schedule?: ISchedule;
    /** Called with a schedule saved; the widget closes itself afterwards. */
    onScheduled?: (schedule: ISchedule) => void;
  }
}

export class SubmitWidget extends ReactWidget {
  constructor(private readonly _options: SubmitWidget.IOptions) {
    super();
    this.addClass('jp-mlp-SubmitWidget');
    this.id = `jp-mlp-submit-${nextId++}`;
    const file = (_options.path ?? _options.initial?.source.path)
      ?.split('/')
      .pop();
    const verb = _options.schedule
      ? 'Edit schedule'
      : _options.initial
        ? 'Rerun job'
        : 'Launch job';
    this.title.label = file ? `${verb}: ${file}` : verb;
    this.title.caption = _options.path
      ? `Run ${_options.path} as a job`
      : 'Launch an ML job';
    this.title.icon = mlpIcon;
    this.title.closable = true;
  }

  /**
   * Focus the path to type, or else the form's first field, once it is on the
   * page: what is typed right after opening lands in the path.
   */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    let frames = 20;
    const focusFirst = () => {
      const first =
        this.node.querySelector<HTMLElement>(
          '[data-field="source.path"] input:not([readonly])'
        ) ??
        this.node.querySelector<HTMLElement>(
          'input:not([disabled]), select:not([disabled]), textarea:not([disabled])'
        );
      if (first) {
        if (!this.node.contains(document.activeElement)) {
          first.focus();
        }
      } else if (frames-- > 0) {
        requestAnimationFrame(focusFirst);
      }
    };
    requestAnimationFrame(focusFirst);
  }

  protected render(): JSX.Element {
    const { client, path, defaults, initial, onSubmitted, onScheduled } =
      this._options;
    return (
      <SubmitForm
        client={client}
        path={path}
        defaults={defaults}
        initial={initial}
        onSubmitted={job => {
          onSubmitted(job);
          this.close();
        }}
        schedule={this._options.schedule}
        onScheduled={schedule => {
          onScheduled?.(schedule);
          this.close();
        }}
        onCancel={() => this.close()}
      />
    );
  }
}
