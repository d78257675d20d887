/**
 * What a cloud launch needs, checked before anything is staged or created
 * (credentials, the service's API, the bucket's permissions, quotas), as the
 * review step shows it: each check passed (✓), failed (✗) or could not be
 * told (?), with what to do. Nothing here stops a submit: the person decides.
 */
import * as React from 'react';
import { useEffect, useRef, useState } from 'react';

import { IPreflightCheck } from '../api';

export interface IPreflightChecksProps {
  /** Asks the server for the checks; called once, when the review opens. */
  load: () => Promise<IPreflightCheck[]>;
}

const MARKS: Record<IPreflightCheck['status'], { mark: string; said: string }> =
  {
    pass: { mark: '✓', said: 'Passed' },
    fail: { mark: '✗', said: 'Failed' },
    unknown: { mark: '?', said: 'Not known' }
  };

export function PreflightChecks(props: IPreflightChecksProps): JSX.Element {
  const [checks, setChecks] = useState<IPreflightCheck[] | null>(null);
  const [failure, setFailure] = useState('');
  // The review asks once when it opens, whatever the caller's function is on later renders.
  const load = useRef(props.load);
  useEffect(() => {
    let open = true;
    load.current().then(
      found => open && setChecks(found),
      (error: Error) => open && setFailure(error.message)
    );
    return () => {
      open = false;
    };
  }, []);

  if (failure) {
    return (
      <p className="jp-mlp-Preflight-note">
        The launch could not be checked beforehand ({failure}); you may still
        submit.
      </p>
    );
  }
  if (checks === null) {
    return (
      <p className="jp-mlp-Preflight-note" aria-live="polite">
        Checking credentials, permissions and quotas…
      </p>
    );
  }
  if (checks.length === 0) {
    return <></>;
  }
  return (
    <ul className="jp-mlp-Preflight" aria-label="Checks before launch">
      {checks.map(check => (
        <PreflightRow key={`${check.id} ${check.title}`} check={check} />
      ))}
    </ul>
  );
}

function PreflightRow(props: { check: IPreflightCheck }): JSX.Element {
  const { check } = props;
  const { mark, said } = MARKS[check.status];
  return (
    <li className={`jp-mlp-Preflight-check jp-mod-${check.status}`}>
      <span className="jp-mlp-Preflight-mark" aria-hidden="true">
        {mark}
      </span>
      <span className="jp-mlp-Preflight-head">
        <span className="jp-mlp-Preflight-status">{said}:</span>{' '}
        <span className="jp-mlp-Preflight-title">{check.title}</span>
      </span>
      {check.detail && (
        <div className="jp-mlp-Preflight-detail">{check.detail}</div>
      )}
      {check.fix && check.status !== 'pass' && (
        <div className="jp-mlp-Preflight-fix">Fix: {check.fix}</div>
      )}
    </li>
  );
}
