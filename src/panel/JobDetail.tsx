/**
 * One job in detail: state, progress, metrics, parameters, times, outputs
 * and the followed log (each part a component of its own).
 */
import { caretLeftIcon, runIcon, stopIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { useEffect, useRef, useState } from 'react';

import {
  CANCELLABLE_STATES,
  IJob,
  JobSummary,
  MLPClient,
  TERMINAL_STATES
} from '../api';
import { ServerBackends } from '../backends';
import { DESCRIBED_FIELDS, describeSpec } from './describe';
import { useCapabilities, useNow } from './hooks';
import { LogView } from './LogView';
import { DrainButton, EtlProgress } from './EtlProgress';
import { IconButton } from './IconButton';
import { JobActions } from './JobActions';
import { JobFacts, Timeline } from './JobFacts';
import { FailureSummary, OpenNotebookAt } from './JobFailure';
import { JobMetrics } from './MetricsView';
import { JobOrigin } from './JobOrigin';
import { JobOutputs } from './JobOutputs';
import { JobParameters } from './JobParameters';
import { JobProgress } from './JobProgress';
import { jobToShow } from './model';
import { shownProgress } from './progress';
import { SweepTrials } from './SweepTrials';
import { SpecFieldList } from '../submit/SpecFieldList';

export interface IJobDetailProps {
  client: MLPClient;
  /** What each backend can do (drain, progress, the name of its job id). */
  backends: ServerBackends;
  jobId: string;
  /**
   * The job as last listed, when the list has it: a summary, whose live
   * fields (state, times, cost, outputs) may be fresher than the fetched job.
   */
  listed: JobSummary | undefined;
  /** Bumped whenever the server announces a change of this job. */
  revision: number;
  onBack: () => void;
  onCancel: (job: IJob) => void;
  onRerun: (job: IJob) => void;
  /** Open the launch form prefilled with the job's spec, to change it before it runs. */
  onRerunWithChanges?: (job: IJob) => void;
  onDelete: (job: IJob) => void;
  onOpenPath: (path: string, isFolder: boolean) => void;
  /** Open a notebook at one of its cells (by id when given, else 0-based index). */
  onOpenNotebookAt: OpenNotebookAt;
  /** Open the job's log in a main-area tab. */
  onOpenLog?: (job: IJob) => void;
  /** Show another job (a sweep's trial) in the detail. */
  onOpenJob?: (jobId: string) => void;
}

export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { client, jobId, listed, revision } = props;
  const [fetched, setFetched] = useState<IJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A new listed state means new transitions (and maybe outputs), new listed
  // metrics or progress mean more points: fetch again.
  const listedState = listed?.state;
  const listedReports = JSON.stringify([listed?.metrics, listed?.progress]);

  useEffect(() => {
    let cancelled = false;
    client
      .getJob(jobId)
      .then(job => {
        if (!cancelled) {
          setFetched(job);
          setError(null);
        }
      })
      .catch((reason: Error) => {
        if (!cancelled) {
          setError(reason.message);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, jobId, revision, listedState, listedReports]);

  // A drain's answer can arrive after a newer fetch (the job CANCELLED meanwhile): keep
  // whichever knows more of the job's life.
  const showDrained = (drained: IJob): void =>
    setFetched(current =>
      current?.id === drained.id &&
      current.transitions.length > drained.transitions.length
        ? current
        : drained
    );

  // Opening a job moves the focus to it, so keyboard and screen reader users land there.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [jobId]);

  const job = jobToShow(fetched?.id === jobId ? fetched : null, listed);
  const live = job !== null && !TERMINAL_STATES.has(job.state);
  const now = useNow(live && !!job?.started_at);
  const capabilitiesOf = useCapabilities(props.backends);
  const capabilities = job ? capabilitiesOf(job.backend) : null;
  const progress = job ? shownProgress(job) : null;

  return (
    <div className="jp-mlp-JobDetail">
      <div className="jp-mlp-JobDetail-header">
        <IconButton
          icon={caretLeftIcon}
          label="Back to the job list"
          title="Back to the job list"
          onClick={props.onBack}
        />
        <h3
          className="jp-mlp-JobDetail-title"
          title={job?.name ?? jobId}
          ref={heading}
          tabIndex={-1}
        >
          {job?.name || listed?.name || jobId}
        </h3>
        {job && CANCELLABLE_STATES.has(job.state) && (
          <IconButton
            icon={stopIcon}
            label={`Cancel job ${job.name || job.id}`}
            title="Cancel job"
            onClick={() => props.onCancel(job)}
          />
        )}
        {job && (
          <DrainButton
            client={client}
            job={job}
            capabilities={capabilities}
            onDrained={showDrained}
          />
        )}
        {job && TERMINAL_STATES.has(job.state) && (
          <IconButton
            icon={runIcon}
            label={`Rerun job ${job.name || job.id} as is`}
            title="Rerun as is: the same spec as a new job"
            onClick={() => props.onRerun(job)}
          />
        )}
      </div>
      {error !== null && job === null && (
        <div className="jp-mlp-Error" role="alert">
          Could not load the job: {error}
        </div>
      )}
      {error === null && job === null && (
        <div className="jp-mlp-JobDetail-loading">Loading the job…</div>
      )}
      {job !== null && (
        <>
          {job.state === 'FAILED' && (
            <FailureSummary
              client={client}
              job={job}
              onOpenNotebookAt={props.onOpenNotebookAt}
            />
          )}
          <JobActions
            job={job}
            onDelete={props.onDelete}
            onRerunWithChanges={props.onRerunWithChanges}
            onOpenLog={props.onOpenLog}
          />
          {progress && <JobProgress progress={progress} />}
          <JobOrigin
            client={client}
            job={job}
            onOpenJob={props.onOpenJob}
            onOpenNotebookAt={props.onOpenNotebookAt}
          />
          <ul className="jp-mlp-JobDetail-spec" aria-label="What the job runs">
            {describeSpec(job.spec, job.backend).map((line, index) => (
              <li key={index}>{line}</li>
            ))}
          </ul>
          <JobMetrics metrics={job.metrics} />
          <JobParameters job={job} />
          <SpecFieldList
            spec={job.spec}
            skip={DESCRIBED_FIELDS}
            className="jp-mlp-JobDetail-fields jp-mlp-JobDetail-settings"
            label="Settings"
          />
          <JobFacts job={job} now={now} capabilities={capabilities} />
          <SweepTrials client={client} job={job} onOpenJob={props.onOpenJob} />
          <Timeline job={job} />
          <EtlProgress
            client={client}
            job={job}
            capabilities={capabilities}
            live={live}
          />
          <JobOutputs
            client={client}
            job={job}
            revision={revision}
            onOpenPath={props.onOpenPath}
          />
          {/* A sweep whose trials are jobs of their own logs nothing itself. */}
          {!(job.trials ?? []).some(t => t.job_id) && (
            <>
              <h4 className="jp-mlp-JobDetail-section">Log</h4>
              <LogView client={client} jobId={job.id} live={live} />
            </>
          )}
        </>
      )}
    </div>
  );
}
