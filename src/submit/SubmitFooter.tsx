/**
 * The launch form's last lines: why the job could not be submitted, and
 * Cancel and Submit (or the review of a cloud job, in place of the buttons).
 */
import * as React from 'react';

import { IFieldError } from '../api';
import { problemSummary } from './problems';
import { SubmitFormModel } from './useSubmitForm';

export function SubmitFooter(props: {
  model: SubmitFormModel;
  /** The review panels, shown while the job is reviewed. */
  review: React.ReactNode;
  isCloud: boolean;
  blocked: boolean;
  /** What blocks Submit, summed up after a submit attempt (none: no summary). */
  problems: readonly IFieldError[];
  checking: boolean;
  onRequest: () => void;
  onCancel: () => void;
}): JSX.Element {
  const { model, isCloud, blocked, checking } = props;
  const { submitting } = model;
  const summary = problemSummary(props.problems);
  return (
    <div className="jp-mlp-SubmitForm-footer">
      {summary && (
        <div
          className="jp-mlp-ProblemSummary"
          role="group"
          aria-label="Problems to fix"
        >
          <span>{summary.text}</span>
          {summary.fields.map(({ field, label }, index) => (
            <React.Fragment key={field}>
              {index > 0 && ', '}
              <button
                type="button"
                className="jp-mlp-LinkButton"
                title={`Go to ${label}`}
                onClick={event => jumpTo(event.currentTarget, field)}
              >
                {label}
              </button>
            </React.Fragment>
          ))}
        </div>
      )}
      {model.submitMessage !== null && (
        <div className="jp-mlp-Error" role="alert">
          Could not submit: {model.submitMessage}
        </div>
      )}
      {model.reviewing ? (
        props.review
      ) : (
        <div className="jp-mlp-SubmitForm-buttons">
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-reject"
            onClick={props.onCancel}
          >
            Cancel
          </button>
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-accept"
            // Blocked, it still answers a click: with the summary of what to fix.
            disabled={submitting || checking}
            aria-disabled={blocked}
            aria-keyshortcuts="Control+Enter Meta+Enter"
            title={
              blocked
                ? 'Fix the problems marked above first'
                : checking
                  ? 'Checking the job with the server…'
                  : isCloud
                    ? 'Review the job before it is submitted (Ctrl+Enter)'
                    : 'Submit the job (Ctrl+Enter)'
            }
            onClick={props.onRequest}
          >
            {submitting
              ? 'Submitting…'
              : isCloud
                ? 'Review and submit…'
                : model.scheduling
                  ? 'Save schedule'
                  : 'Submit job'}
          </button>
        </div>
      )}
    </div>
  );
}

/** Scroll to the field `field` of the form `from` is in, open it if folded, and focus its input. */
function jumpTo(from: HTMLElement, field: string): void {
  const target = from
    .closest('form')
    ?.querySelector<HTMLElement>(`[data-field="${field}"]`);
  if (!target) {
    return;
  }
  for (let node = target.closest('details'); node;) {
    node.open = true;
    node = node.parentElement?.closest('details') ?? null;
  }
  target.scrollIntoView({ block: 'center' });
  target
    .querySelector<HTMLElement>('input, select, textarea, button')
    ?.focus({ preventScroll: true });
}
