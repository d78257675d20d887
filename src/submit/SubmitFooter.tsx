/**
 * The launch form's last lines: why the job could not be submitted, and
 * Cancel and Submit (or the review of a cloud job, in place of the buttons).
 */
import * as React from 'react';

import { SubmitFormModel } from './useSubmitForm';

export function SubmitFooter(props: {
  model: SubmitFormModel;
  /** The review panels, shown while the job is reviewed. */
  review: React.ReactNode;
  isCloud: boolean;
  blocked: boolean;
  checking: boolean;
  onRequest: () => void;
  onCancel: () => void;
}): JSX.Element {
  const { model, isCloud, blocked, checking } = props;
  const { submitting } = model;
  return (
    <div className="jp-mlp-SubmitForm-footer">
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
            disabled={submitting || blocked || checking}
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
