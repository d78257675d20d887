/**
 * A job's outputs in the detail: links to those that exist and hold
 * something, a sweep's best trial's first, and the cloud console.
 */
import * as React from 'react';
import { useEffect, useState } from 'react';

import { IJob, IOutputEntry, MLPClient, TERMINAL_STATES } from '../api';
import { pathParts } from './format';
import { IShownOutput, shownOutputs } from './outputs';

export interface IJobOutputsProps {
  client: MLPClient;
  job: IJob;
  /** Bumped when the job changed: its outputs may have too. */
  revision: number;
  onOpenPath: (path: string, isFolder: boolean) => void;
}

/** The job's outputs listing (null while unknown or when it cannot be read). */
function useOutputListing(
  client: MLPClient,
  jobId: string | null,
  revision: string
): { listing: IOutputEntry[] | null; known: boolean } {
  const [state, setState] = useState<{
    id: string | null;
    listing: IOutputEntry[] | null;
  }>({ id: null, listing: null });
  useEffect(() => {
    if (jobId === null) {
      return;
    }
    let cancelled = false;
    client
      .listOutputs(jobId)
      .then(listing => !cancelled && setState({ id: jobId, listing }))
      .catch(() => !cancelled && setState({ id: jobId, listing: null }));
    return () => {
      cancelled = true;
    };
  }, [client, jobId, revision]);
  return { listing: state.listing, known: state.id === jobId };
}

/** The best trial's own job, for a sweep whose trials are jobs. */
function useBestTrialJob(client: MLPClient, job: IJob): IJob | null {
  const trial = (job.trials ?? []).find(t => t.id === job.best_trial);
  const trialJobId = trial?.job_id ?? null;
  const [fetched, setFetched] = useState<IJob | null>(null);
  useEffect(() => {
    if (trialJobId === null) {
      return;
    }
    let cancelled = false;
    client
      .getJob(trialJobId)
      .then(found => !cancelled && setFetched(found))
      .catch(() => !cancelled && setFetched(null));
    return () => {
      cancelled = true;
    };
  }, [client, trialJobId]);
  return fetched?.id === trialJobId ? fetched : null;
}

export function JobOutputs(props: IJobOutputsProps): JSX.Element {
  const { client, job } = props;
  const key = `${props.revision}:${job.state}`;
  const own = useOutputListing(client, job.id, key);
  const best = useBestTrialJob(client, job);
  const bestListing = useOutputListing(client, best?.id ?? null, key);
  const bestTrial = (job.trials ?? []).find(t => t.id === job.best_trial);
  const bestOutputs =
    best && bestListing.known
      ? shownOutputs(best.outputs, bestListing.listing, true)
      : [];
  const ended = TERMINAL_STATES.has(job.state);
  const outputs = own.known
    ? shownOutputs(job.outputs, own.listing, ended)
    : [];
  return (
    <>
      <h4 className="jp-mlp-JobDetail-section">Outputs</h4>
      {bestOutputs.length > 0 && bestTrial && (
        <div
          className="jp-mlp-JobDetail-best"
          aria-label="The best trial's outputs"
        >
          <span className="jp-mlp-JobDetail-dim">
            Best trial #{bestTrial.id}:{' '}
          </span>
          <OutputLinks outputs={bestOutputs} onOpenPath={props.onOpenPath} />
        </div>
      )}
      <ul className="jp-mlp-JobDetail-outputs" aria-label="Outputs">
        {outputs.map(output => (
          <li key={output.key}>
            <span className="jp-mlp-JobDetail-dim">{output.label}: </span>
            <PathButton output={output} onOpenPath={props.onOpenPath} />
          </li>
        ))}
        {job.console_url && (
          <li>
            <span className="jp-mlp-JobDetail-dim">Console: </span>
            <a href={job.console_url} target="_blank" rel="noopener noreferrer">
              Open in the cloud console
            </a>
          </li>
        )}
        {own.known && outputs.length === 0 && !job.console_url && (
          <li className="jp-mlp-JobDetail-dim">
            {ended ? 'No outputs.' : 'No outputs yet.'}
          </li>
        )}
      </ul>
    </>
  );
}

/** "executed notebook, model": a trial's outputs as short links in a line. */
function OutputLinks(props: {
  outputs: IShownOutput[];
  onOpenPath: (path: string, isFolder: boolean) => void;
}): JSX.Element {
  return (
    <>
      {props.outputs.map((output, index) => (
        <React.Fragment key={output.key}>
          {index > 0 && ', '}
          <button
            type="button"
            className="jp-mlp-LinkButton"
            onClick={() => props.onOpenPath(output.path, output.folder)}
            title={`Open ${output.path}`}
          >
            {output.label.toLowerCase()}
          </button>
        </React.Fragment>
      ))}
    </>
  );
}

/** An output's path as a link that breaks after its slashes. */
function PathButton(props: {
  output: IShownOutput;
  onOpenPath: (path: string, isFolder: boolean) => void;
}): JSX.Element {
  const { output } = props;
  return (
    <button
      className="jp-mlp-LinkButton"
      onClick={() => props.onOpenPath(output.path, output.folder)}
      title={`Open ${output.path}`}
    >
      {pathParts(output.path).map((part, index) => (
        <React.Fragment key={index}>
          {part}
          <wbr />
        </React.Fragment>
      ))}
    </button>
  );
}
