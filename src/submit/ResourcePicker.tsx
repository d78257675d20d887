/**
 * The resource picker: region, machine type, accelerator and count for a cloud
 * backend (choices from its catalog, invalid ones disabled with the reason),
 * or this machine's GPUs for the local backend; plus the hourly estimate.
 * Errors stop the job and show under their field; warnings (a machine's
 * conditions, an unknown price) show there too, but do not stop it.
 */
import * as React from 'react';

import {
  Catalog,
  IBackendCapabilities,
  ICloudCatalog,
  IEstimate,
  IFieldError,
  ILocalCatalog,
  isLocalCatalog
} from '../api';
import { Field } from './Field';
import { IResourceChoice, takesMaxWorkers } from './formModel';
import {
  IChoice,
  IChoiceNotes,
  acceleratorChoices,
  choiceNotes,
  estimateLines,
  countChoices,
  formatUsd,
  localCountChoices,
  machineGroups,
  regionChoices,
  shortName,
  unsaidWarnings
} from './picker';

/** The fields the picker shows; the form lists problems of other fields itself. */
export const PICKER_FIELDS: ReadonlySet<string> = new Set([
  'region',
  'resources.machine_type',
  'resources.accelerator_type',
  'resources.accelerator_count',
  'resources.replica_count',
  'resources.max_workers'
]);

export interface IResourcePickerProps {
  backend: string;
  /** What the backend can do: the resource fields it reads (undefined: not known yet). */
  capabilities: IBackendCapabilities | undefined;
  catalog: Catalog | null;
  catalogError: string | null;
  value: IResourceChoice;
  /** Problems that stop the job. */
  errors: readonly IFieldError[];
  /** Problems that do not (shown next to their field all the same). */
  warnings: readonly IFieldError[];
  estimate: IEstimate | null;
  /** Whether the last validation answer is for the current choice. */
  validating: boolean;
  onMachineType: (name: string) => void;
  onAcceleratorType: (type: string) => void;
  onChange: (patch: Partial<IResourceChoice>) => void;
}

export function ResourcePicker(props: IResourcePickerProps): JSX.Element {
  const { catalog, catalogError } = props;
  if (catalogError !== null) {
    return (
      <div className="jp-mlp-Error" role="alert">
        Could not load the {props.backend} catalog: {catalogError}
      </div>
    );
  }
  if (catalog === null) {
    return <div className="jp-mlp-Field-hint">Loading machine types…</div>;
  }
  return isLocalCatalog(catalog) ? (
    <LocalPicker {...props} catalog={catalog} />
  ) : (
    <CloudPicker {...props} catalog={catalog} />
  );
}

function CloudPicker(
  props: IResourcePickerProps & { catalog: ICloudCatalog }
): JSX.Element {
  const { catalog, value, errors, onChange } = props;
  const accelerators = acceleratorChoices(
    catalog,
    value.machine_type,
    value.region
  );
  const counts = countChoices(
    catalog,
    value.machine_type,
    value.accelerator_type
  );
  const short = (type: string) => shortName(catalog, type);
  const machine = catalog.machine_types.find(
    m => m.name === value.machine_type
  );
  const takes = machine
    ? machine.accelerators.length
      ? `${machine.name} takes ${machine.accelerators
          .map(a => `${short(a.type)} ×${a.counts.join('/')}`)
          .join(', ')}.`
      : `${machine.name} takes no accelerators.`
    : undefined;
  // A pipeline sizes its workers by the most it may use; a training job by replicas.
  const byWorkers = takesMaxWorkers(props.capabilities);
  const notes = choiceNotes(catalog, value);
  const warnings = unsaidWarnings(props.warnings, notes);
  const hint = (field: string, text?: React.ReactNode) =>
    withWarnings(
      text,
      warnings.filter(w => w.field === field)
    );
  const fits = !errors.some(
    e => e.field === 'region' || e.field.startsWith('resources.')
  );
  return (
    <>
      <Field
        field="region"
        label="Region"
        errors={errors}
        onSuggest={region => onChange({ region })}
        hint={hint('region')}
      >
        {input => (
          <select
            {...input}
            value={value.region}
            onChange={event => onChange({ region: event.target.value })}
          >
            {regionChoices(
              catalog,
              value.machine_type,
              value.accelerator_type,
              value.region
            ).map(choice => (
              <option
                key={choice.value}
                value={choice.value}
                disabled={choice.disabled}
                title={choice.reason}
              >
                {choice.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        field="resources.machine_type"
        label={byWorkers ? 'Worker machine type' : 'Machine type'}
        errors={errors}
        onSuggest={props.onMachineType}
        hint={hint(
          'resources.machine_type',
          <>
            {notes.conditions && (
              <span className="jp-mlp-Conditions">
                Conditions: {notes.conditions}
              </span>
            )}
            Prices shown for {catalog.default_region}, as of{' '}
            {catalog.prices_as_of}.
          </>
        )}
      >
        {input => (
          <select
            {...input}
            value={value.machine_type}
            onChange={event => props.onMachineType(event.target.value)}
          >
            {!catalog.machine_types.some(
              m => m.name === value.machine_type
            ) && (
              <option value={value.machine_type}>
                {value.machine_type || 'Choose a machine type'}
              </option>
            )}
            {machineGroups(catalog).map(group => (
              <optgroup key={group.family} label={group.family}>
                {group.machines.map(choice => (
                  <Option key={choice.value} choice={choice} />
                ))}
              </optgroup>
            ))}
          </select>
        )}
      </Field>
      <div className="jp-mlp-FieldRow">
        <Field
          field="resources.accelerator_type"
          label="Accelerator"
          errors={errors}
          onSuggest={props.onAcceleratorType}
          suggestionLabel={short}
          hint={hint('resources.accelerator_type', takes)}
        >
          {input => (
            <select
              {...input}
              value={value.accelerator_type}
              onChange={event => props.onAcceleratorType(event.target.value)}
            >
              {accelerators.map(choice => (
                <Option key={choice.value} choice={choice} />
              ))}
            </select>
          )}
        </Field>
        <CountField
          label="Count"
          value={value.accelerator_count}
          counts={counts}
          errors={errors}
          hint={hint('resources.accelerator_count')}
          onChange={count => onChange({ accelerator_count: count })}
        />
      </div>
      {catalog.not_offered.length > 0 && (
        <details className="jp-mlp-NotOffered">
          <summary>Accelerators not offered here</summary>
          <ul>
            {catalog.not_offered.map(item => (
              <li key={item.type}>
                <code>{item.type}</code>: {item.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      {byWorkers ? (
        <Field
          field="resources.max_workers"
          label="Max workers"
          errors={errors}
          onSuggest={n => onChange({ max_workers: Number(n) })}
          hint={hint(
            'resources.max_workers',
            'Dataflow scales between 1 and this many workers.'
          )}
        >
          {input => (
            <input
              {...input}
              type="number"
              min={1}
              value={value.max_workers ?? ''}
              placeholder="Dataflow decides"
              onChange={event =>
                onChange({
                  max_workers:
                    event.target.value === ''
                      ? null
                      : Number(event.target.value)
                })
              }
            />
          )}
        </Field>
      ) : (
        <Field
          field="resources.replica_count"
          label="Replicas"
          errors={errors}
          onSuggest={n => onChange({ replica_count: Number(n) })}
          hint={hint('resources.replica_count')}
        >
          {input => (
            <input
              {...input}
              type="number"
              min={1}
              value={value.replica_count}
              onChange={event =>
                // Kept as typed: the form refuses fewer than one replica, it does not hide it.
                onChange({
                  replica_count: Math.floor(Number(event.target.value)) || 0
                })
              }
            />
          )}
        </Field>
      )}
      <Estimate
        estimate={props.estimate}
        validating={props.validating}
        fits={fits}
        notes={notes}
        lines={
          props.estimate
            ? estimateLines(
                props.estimate,
                catalog,
                byWorkers
                  ? { count: value.max_workers ?? 1, what: 'workers at most' }
                  : { count: value.replica_count, what: 'replicas' }
              )
            : []
        }
      />
    </>
  );
}

/** A field's help text with its warnings (which never stop the job) under it; undefined when neither. */
function withWarnings(
  text: React.ReactNode,
  warnings: readonly IFieldError[]
): React.ReactNode {
  if (warnings.length === 0) {
    return text || undefined;
  }
  return (
    <>
      {text}
      <WarningList warnings={warnings} />
    </>
  );
}

/** Warnings: said next to the field, in a colour that does not say "error". */
export function WarningList(props: {
  warnings: readonly IFieldError[];
  showField?: boolean;
}): JSX.Element {
  return (
    <ul className="jp-mlp-FieldWarnings" aria-label="Warnings">
      {props.warnings.map((warning, index) => (
        <li key={index} className="jp-mlp-FieldWarning">
          {props.showField && (
            <span className="jp-mlp-FieldError-field">{warning.field}: </span>
          )}
          {warning.message}
        </li>
      ))}
    </ul>
  );
}

function LocalPicker(
  props: IResourcePickerProps & { catalog: ILocalCatalog }
): JSX.Element {
  const { catalog, value, errors, onChange } = props;
  const counts = localCountChoices(catalog);
  return (
    <>
      <div className="jp-mlp-LocalMachine">
        This machine: {catalog.cpu_count} CPU(s),{' '}
        {Math.round(catalog.memory_mb / 1024)} GB memory, up to{' '}
        {catalog.max_concurrent_jobs} job(s) at once.
      </div>
      {catalog.gpus.length === 0 ? (
        <div className="jp-mlp-Field-hint" title={catalog.gpu_detection}>
          No GPU on this machine; jobs run on the CPU.
        </div>
      ) : (
        <ul className="jp-mlp-GpuList" aria-label="GPUs of this machine">
          {catalog.gpus.map(gpu => (
            <li
              key={gpu.id}
              className="jp-mlp-GpuList-item"
              data-busy={gpu.job_id ? 'true' : 'false'}
            >
              <span className="jp-mlp-GpuList-name">
                GPU {gpu.id}: {gpu.name}
                {gpu.memory_total_mb
                  ? ` · ${Math.round(gpu.memory_total_mb / 1024)} GB`
                  : ''}
              </span>
              <span className="jp-mlp-GpuList-state">
                {gpu.job_id ? `busy (job ${gpu.job_id})` : 'free'}
              </span>
            </li>
          ))}
        </ul>
      )}
      <CountField
        label="GPUs"
        value={value.accelerator_count}
        counts={counts}
        errors={errors}
        hint={withWarnings(
          undefined,
          props.warnings.filter(w => w.field === 'resources.accelerator_count')
        )}
        onChange={count => onChange({ accelerator_count: count })}
      />
      <div className="jp-mlp-Estimate">
        Runs on this machine: no cloud cost.
      </div>
    </>
  );
}

/**
 * The estimated hourly cost, with its date and that it is an estimate; or
 * why there is none: the choice does not fit yet, or a price is not known.
 */
function Estimate({
  estimate,
  validating,
  fits,
  notes,
  lines
}: {
  estimate: IEstimate | null;
  /** The estimate's parts (machine, accelerators, copies), one a line. */
  lines: string[];
  validating: boolean;
  /** No error on the region or the resources. */
  fits: boolean;
  notes: IChoiceNotes;
}): JSX.Element {
  if (estimate === null) {
    if (!validating && fits && notes.unpriced.length > 0) {
      return (
        <div className="jp-mlp-Estimate" aria-live="polite">
          <span className="jp-mlp-Estimate-cost">Price not known</span>
          <span className="jp-mlp-Estimate-note">
            {' '}
            (no cost estimate for this job)
          </span>
          <ul className="jp-mlp-Estimate-caveats">
            {unpricedByReason(notes).map(([why, items]) => (
              <li key={why}>
                {items.join(', ')}: {why}
              </li>
            ))}
          </ul>
        </div>
      );
    }
    return (
      <div className="jp-mlp-Estimate" aria-live="polite">
        {validating
          ? 'Estimating the cost…'
          : fits
            ? 'No cost estimate for this choice.'
            : 'No cost estimate until the machine and accelerators fit.'}
      </div>
    );
  }
  return (
    <div className="jp-mlp-Estimate" aria-live="polite" title={estimate.note}>
      <span className="jp-mlp-Estimate-cost">
        ≈ {formatUsd(estimate.usd_per_hour)} per hour
      </span>{' '}
      <span className="jp-mlp-Estimate-note">
        (estimate, prices as of {estimate.as_of}
        {estimate.region ? `, ${estimate.region}` : ''})
      </span>
      {lines.length > 0 && (
        <ul
          className="jp-mlp-Estimate-breakdown"
          aria-label="What the estimate adds up"
        >
          {lines.map(line => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
      {estimate.caveats.length > 0 && (
        <details className="jp-mlp-Estimate-details">
          <summary>How these prices were found</summary>
          <ul className="jp-mlp-Estimate-caveats">
            {estimate.caveats.map(caveat => (
              <li key={caveat}>{caveat}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

/** The unpriced items by why, so one reason is said once (`[why, [items]]`). */
function unpricedByReason(notes: IChoiceNotes): [string, string[]][] {
  const byReason = new Map<string, string[]>();
  for (const { item, why } of notes.unpriced) {
    byReason.set(why, [...(byReason.get(why) ?? []), item]);
  }
  return [...byReason];
}

/** The accelerator count: the valid counts, plus the current one if it is not. */
function CountField(props: {
  label: string;
  value: number;
  counts: IChoice<number>[];
  errors: readonly IFieldError[];
  hint: React.ReactNode;
  onChange: (count: number) => void;
}): JSX.Element {
  const { value, counts, onChange } = props;
  return (
    <Field
      field="resources.accelerator_count"
      label={props.label}
      errors={props.errors}
      onSuggest={count => onChange(Number(count))}
      hint={props.hint}
    >
      {input => (
        <select
          {...input}
          value={value}
          onChange={event => onChange(Number(event.target.value))}
        >
          {!counts.some(c => c.value === value) && (
            <option value={value}>{value}</option>
          )}
          {counts.map(choice => (
            <Option key={choice.value} choice={choice} />
          ))}
        </select>
      )}
    </Field>
  );
}

function Option<T extends string | number>({
  choice
}: {
  choice: IChoice<T>;
}): JSX.Element {
  return (
    <option
      value={choice.value}
      disabled={choice.disabled}
      title={choice.reason}
    >
      {choice.disabled ? `${choice.label} — unavailable` : choice.label}
    </option>
  );
}
