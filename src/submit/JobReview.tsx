/**
 * The last step before a cloud job is submitted: where it runs, on what, at
 * what hourly cost and where its outputs go, every other setting that is not
 * at its default, and the options the backend does not take (left out), with
 * Confirm and Back. A cloud job costs money, so it is never launched by the
 * first click alone.
 */
import * as React from 'react';
import { useEffect, useRef } from 'react';

import { IBackendInfo, ICloudCatalog, IEstimate, IJobSubmission } from '../api';
import { formatUsd, shortName } from './picker';
import { IResourceChoice, takesMaxWorkers } from './formModel';
import { SpecFieldList } from './SpecFieldList';
import { fieldLabel } from './specFields';

/** What the review's first lines already say (where, machine, GPUs). */
const SUMMARY_FIELDS = new Set([
  'backend',
  'region',
  'resources.machine_type',
  'resources.accelerator_type',
  'resources.accelerator_count',
  'resources.replica_count',
  'resources.max_workers'
]);

export interface IJobReviewProps {
  /** The server's status of the backend (its settings: project, bucket). */
  backend: IBackendInfo | undefined;
  backendName: string;
  catalog: ICloudCatalog | null;
  resources: IResourceChoice;
  /** The estimate for exactly this choice, if the server gave one. */
  estimate: IEstimate | null;
  /** The spec to be submitted: its other settings are listed. */
  spec: IJobSubmission;
  /** Options set in the form that this backend does not take: not sent. */
  leftOut: readonly string[];
  /** More to check before Confirm (shown above the buttons). */
  children?: React.ReactNode;
  onBack: () => void;
  onConfirm: () => void;
}

export function JobReview(props: IJobReviewProps): JSX.Element {
  const { catalog, resources, estimate } = props;
  const heading = useRef<HTMLHeadingElement>(null);
  // Focus lands on the summary, not on Confirm: a second Enter must not launch the job.
  useEffect(() => heading.current?.focus(), []);
  const settings = props.backend?.settings ?? {};
  const service = props.backend?.capabilities.service ?? props.backendName;
  const project = stringSetting(settings, 'project');
  const region = resources.region || catalog?.default_region || '';
  const where = [
    service,
    project ? `project ${project}` : '',
    region ? `region ${region}` : ''
  ]
    .filter(Boolean)
    .join(' · ');
  // A pipeline runs on workers, as many as the service decides; a training job on replicas.
  const byWorkers = takesMaxWorkers(props.backend?.capabilities);
  const machine = catalog?.machine_types.find(
    m => m.name === resources.machine_type
  );
  const machineText = [
    resources.machine_type || 'the service default',
    machine ? `(${machine.vcpus} vCPU, ${machine.memory_gb} GB)` : '',
    byWorkers
      ? resources.max_workers
        ? `· up to ${resources.max_workers} workers`
        : '· workers as Dataflow decides'
      : `· ${resources.replica_count} replica${resources.replica_count === 1 ? '' : 's'}`
  ]
    .filter(Boolean)
    .join(' ');
  const gpus =
    resources.accelerator_type && resources.accelerator_count > 0
      ? `${resources.accelerator_count} × ${shortName(catalog, resources.accelerator_type)} per ${byWorkers ? 'worker' : 'replica'}`
      : 'None';

  return (
    <section
      className="jp-mlp-Review"
      aria-labelledby="jp-mlp-Review-title"
      onKeyDown={event => {
        if (event.key === 'Escape') {
          event.preventDefault();
          props.onBack();
        }
      }}
    >
      <h3 id="jp-mlp-Review-title" ref={heading} tabIndex={-1}>
        Launch on {service}?
      </h3>
      <dl className="jp-mlp-Review-fields">
        <dt>Where</dt>
        <dd>{where}</dd>
        <dt>Machine</dt>
        <dd>{machineText}</dd>
        <dt>GPUs</dt>
        <dd>{gpus}</dd>
        <dt>Cost</dt>
        <dd>
          {estimate
            ? `≈ ${formatUsd(estimate.usd_per_hour)} per hour (estimate, list prices as of ${estimate.as_of})`
            : 'Price not known: no estimate for this choice'}
        </dd>
        <dt>Outputs</dt>
        <dd className="jp-mlp-Review-path">
          {props.backend?.outputs || 'Where the backend puts them'}
        </dd>
      </dl>
      <SpecFieldList
        spec={props.spec}
        skip={SUMMARY_FIELDS}
        className="jp-mlp-Review-fields jp-mlp-Review-settings"
        label="Settings"
      />
      {props.leftOut.length > 0 && (
        <p className="jp-mlp-Review-leftOut" role="note">
          Left out ({service} does not take them):{' '}
          {props.leftOut.map(fieldLabel).join(', ')}.
        </p>
      )}
      {props.children}
      <div className="jp-mlp-SubmitForm-buttons">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={props.onBack}
        >
          Back
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept"
          onClick={props.onConfirm}
        >
          Confirm and submit
        </button>
      </div>
    </section>
  );
}

function stringSetting(settings: Record<string, unknown>, key: string): string {
  const value = settings[key];
  return typeof value === 'string' ? value : '';
}
