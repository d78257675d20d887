/**
 * The submit form as a main-area tab ("Launch job"), closed once the job is
 * submitted.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, MLPClient } from '../api';
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
    /** Called with the new job; the widget closes itself afterwards. */
    onSubmitted: (job: IJob) => void;
  }
}

export class SubmitWidget extends ReactWidget {
  constructor(private readonly _options: SubmitWidget.IOptions) {
    super();
    this.addClass('jp-mlp-SubmitWidget');
    this.id = `jp-mlp-submit-${nextId++}`;
    const file = _options.path?.split('/').pop();
    this.title.label = file ? `Launch job: ${file}` : 'Launch job';
    this.title.caption = _options.path
      ? `Run ${_options.path} as a job`
      : 'Launch an ML job';
    this.title.icon = mlpIcon;
    this.title.closable = true;
  }

  protected render(): JSX.Element {
    const { client, path, defaults, onSubmitted } = this._options;
    return (
      <SubmitForm
        client={client}
        path={path}
        defaults={defaults}
        onSubmitted={job => {
          onSubmitted(job);
          this.close();
        }}
        onCancel={() => this.close()}
      />
    );
  }
}
