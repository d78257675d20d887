/**
 * The detail's row of actions: rerun with changes, delete, and the two ways
 * to copy the job as a command (rerun as is sits in the header).
 */
import { Clipboard } from '@jupyterlab/apputils';
import * as React from 'react';
import { useState } from 'react';

import { IJob, TERMINAL_STATES } from '../api';
import { asCommandLine, asMagic } from './commandLine';

export function JobActions(props: {
  job: IJob;
  onDelete: (job: IJob) => void;
  onRerunWithChanges?: (job: IJob) => void;
  /** Open the job's log in a tab of its own. */
  onOpenLog?: (job: IJob) => void;
}): JSX.Element {
  const { job } = props;
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (text: string, what: string) => {
    Clipboard.copyToSystem(text);
    setCopied(what);
  };
  const commandLine = asCommandLine(job.spec);
  const terminal = TERMINAL_STATES.has(job.state);
  return (
    <div className="jp-mlp-JobActions" role="toolbar" aria-label="Job actions">
      {props.onOpenLog && (
        <button
          type="button"
          className="jp-mlp-TextButton"
          title="Open the log in a tab of its own"
          onClick={() => props.onOpenLog?.(job)}
        >
          Open log
        </button>
      )}
      {props.onRerunWithChanges && (
        <button
          type="button"
          className="jp-mlp-TextButton"
          title="Open the launch form with this job's settings, to change them before it runs"
          onClick={() => props.onRerunWithChanges?.(job)}
        >
          Rerun…
        </button>
      )}
      {terminal && (
        <button
          type="button"
          className="jp-mlp-TextButton"
          onClick={() => props.onDelete(job)}
        >
          Delete
        </button>
      )}
      <button
        type="button"
        className="jp-mlp-TextButton"
        title={asMagic(job.spec)}
        onClick={() => copy(asMagic(job.spec), 'magic')}
      >
        Copy as %mlp_train
      </button>
      <button
        type="button"
        className="jp-mlp-TextButton"
        disabled={commandLine === null}
        title={
          commandLine ??
          'Inline code has no command-line form: save it to a file first'
        }
        onClick={() => commandLine && copy(commandLine, 'command')}
      >
        Copy as CLI command
      </button>
      <span className="jp-mlp-JobActions-status" aria-live="polite">
        {copied === 'magic' && 'Copied the magic.'}
        {copied === 'command' && 'Copied the command.'}
      </span>
    </div>
  );
}
