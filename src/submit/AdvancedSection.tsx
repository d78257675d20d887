/**
 * The launch form's "Advanced" section: the launch options the chosen
 * backend takes (its capabilities' `options`) and labels, behind a
 * disclosure that a rerun whose spec sets any of them opens. The server's
 * errors for these fields show at them, as elsewhere in the form.
 */
import * as React from 'react';
import { useEffect, useState } from 'react';

import {
  BootDiskType,
  IBackendCapabilities,
  ICloudCatalog,
  IFieldError,
  Strategy
} from '../api';
import {
  CheckField,
  DurationField,
  LabelsField,
  TextField
} from './AdvancedInputs';
import { Field } from './Field';
import { FallbacksEditor } from './FallbacksEditor';
import { IFormState } from './formModel';
import { ILaunchOptions, optionsSet, takesOption } from './launchOptions';
import { fieldLabel } from './specFields';

/** The sentence the brief of cost caps asks to be said where the cap is set. */
export const COST_CAP_NOTE =
  'The cap acts on the estimate: billing lags, and a cancel takes a little while to stop the machines.';

const BOOT_DISKS: BootDiskType[] = [
  'pd-ssd',
  'pd-standard',
  'hyperdisk-balanced'
];

/** Whether the section is shown: the backend takes launch options. */
export function showsAdvanced(
  capabilities: IBackendCapabilities | undefined
): boolean {
  return (capabilities?.options.length ?? 0) > 0;
}

/** Whether an error is about a field of this section. */
export function isAdvancedField(field: string): boolean {
  return (
    field === 'labels' ||
    field.startsWith('labels.') ||
    field.startsWith('scheduling.') ||
    field.startsWith('dataflow.') ||
    field.startsWith('resources.boot_disk') ||
    [
      'network',
      'psc_network_attachment',
      'encryption_key',
      'tensorboard'
    ].includes(field)
  );
}

export function AdvancedSection(props: {
  state: IFormState;
  capabilities: IBackendCapabilities | undefined;
  catalog: ICloudCatalog | null;
  errors: readonly IFieldError[];
  leftOut: readonly string[];
  setOptions: (patch: Partial<ILaunchOptions>) => void;
}): JSX.Element | null {
  const { state, capabilities, errors } = props;
  const options = state.options;
  const [open, setOpen] = useState(
    () => optionsSet(state.start).length > 0 || options.labels.length > 0
  );
  const erring = errors.some(e => isAdvancedField(e.field));
  // An error for a hidden field opens the section, so the field is seen.
  useEffect(() => {
    if (erring) {
      setOpen(true);
    }
  }, [erring]);
  const leftOutNote = props.leftOut.length > 0 && (
    <p className="jp-mlp-Review-leftOut" role="note">
      Not sent ({capabilities?.service ?? 'this backend'} does not take them):{' '}
      {props.leftOut.map(fieldLabel).join(', ')}.
    </p>
  );
  if (!showsAdvanced(capabilities)) {
    return leftOutNote ? (
      <section className="jp-mlp-SubmitForm-section">{leftOutNote}</section>
    ) : null;
  }
  return (
    <section className="jp-mlp-SubmitForm-section jp-mlp-Advanced">
      <details
        open={open}
        onToggle={event => setOpen((event.target as HTMLDetailsElement).open)}
      >
        <summary>
          <h3>Advanced</h3>
        </summary>
        {leftOutNote}
        {/* Rendered only when open: closed, its inputs are not on the page at all. */}
        {open && <AdvancedFields {...props} />}
      </details>
    </section>
  );
}

/** The fields of the options the backend takes, in the order a person decides them. */
function AdvancedFields(props: {
  state: IFormState;
  capabilities: IBackendCapabilities | undefined;
  catalog: ICloudCatalog | null;
  errors: readonly IFieldError[];
  setOptions: (patch: Partial<ILaunchOptions>) => void;
}): JSX.Element {
  const { state, capabilities, errors, setOptions } = props;
  const options = state.options;
  const takes = (path: string) => takesOption(capabilities, path);
  const text = (
    path: string,
    key: keyof ILaunchOptions,
    label: string,
    extra: Partial<React.ComponentProps<typeof TextField>> = {}
  ) =>
    takes(path) && (
      <TextField
        field={path}
        label={label}
        value={options[key] as string}
        errors={errors}
        onChange={value => setOptions({ [key]: value })}
        {...extra}
      />
    );
  const strategies: Strategy[] = [
    'standard',
    ...(['spot', 'flex_start'] as Strategy[]).filter(s =>
      capabilities?.scheduling.includes(s)
    )
  ];
  return (
    <>
      {takes('scheduling.timeout_seconds') && (
        <DurationField
          field="scheduling.timeout_seconds"
          label="Timeout"
          value={options.timeout}
          errors={errors}
          hint="Stop the job after this long."
          onChange={timeout => setOptions({ timeout })}
        />
      )}
      {takes('scheduling.strategy') && (
        <Field field="scheduling.strategy" label="Capacity" errors={errors}>
          {input => (
            <select
              {...input}
              value={options.strategy}
              onChange={event =>
                setOptions({ strategy: event.target.value as Strategy })
              }
            >
              {strategies.map(s => (
                <option key={s} value={s}>
                  {
                    {
                      standard: 'On demand',
                      spot: 'Spot: cheaper, can be preempted',
                      flex_start: 'Flex-start: waits for scarce GPUs'
                    }[s]
                  }
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {options.strategy === 'flex_start' &&
        takes('scheduling.max_wait_seconds') && (
          <DurationField
            field="scheduling.max_wait_seconds"
            label="Wait for capacity at most"
            value={options.maxWait}
            errors={errors}
            placeholder="24"
            hint="Empty: 24 hours."
            onChange={maxWait => setOptions({ maxWait })}
          />
        )}
      {options.strategy === 'spot' &&
        text(
          'scheduling.max_preemptions',
          'maxPreemptions',
          'Restarts after preemption',
          {
            inputMode: 'numeric',
            hint: 'After Vertex AI’s own restarts, start it again this many times, resuming from its output folder.'
          }
        )}
      {text('scheduling.reservation', 'reservation', 'Reservation', {
        placeholder: 'any, or projects/P/zones/Z/reservations/N'
      })}
      {takes('scheduling.restart_on_worker_restart') && (
        <CheckField
          field="scheduling.restart_on_worker_restart"
          label="Restart the job when a worker restarts"
          checked={options.restartOnWorkerRestart}
          errors={errors}
          onChange={restartOnWorkerRestart =>
            setOptions({ restartOnWorkerRestart })
          }
        />
      )}
      {text('scheduling.service_account', 'serviceAccount', 'Service account', {
        placeholder: 'the backend’s setting'
      })}
      <div className="jp-mlp-FieldRow">
        {takes('resources.boot_disk_type') && (
          <Field
            field="resources.boot_disk_type"
            label="Boot disk"
            errors={errors}
          >
            {input => (
              <select
                {...input}
                value={options.bootDiskType}
                onChange={event =>
                  setOptions({
                    bootDiskType: event.target.value as BootDiskType | ''
                  })
                }
              >
                <option value="">the default</option>
                {BOOT_DISKS.map(d => (
                  <option key={d} value={d}>
                    {d}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        {text(
          'resources.boot_disk_size_gb',
          'bootDiskSizeGb',
          'Disk size (GB)',
          {
            inputMode: 'numeric',
            placeholder: 'the default'
          }
        )}
      </div>
      {text('network', 'network', 'Network', {
        placeholder: 'projects/NUMBER/global/networks/NAME'
      })}
      {text(
        'psc_network_attachment',
        'pscNetworkAttachment',
        'PSC network attachment',
        {
          placeholder: 'projects/P/regions/R/networkAttachments/N'
        }
      )}
      {text('dataflow.network', 'dataflowNetwork', 'Network', {
        placeholder: 'a network of the project'
      })}
      {text('dataflow.subnetwork', 'dataflowSubnetwork', 'Subnetwork', {
        placeholder: 'regions/R/subnetworks/S'
      })}
      {takes('dataflow.no_public_ips') && (
        <CheckField
          field="dataflow.no_public_ips"
          label="No public IPs for the workers"
          checked={options.noPublicIps}
          errors={errors}
          onChange={noPublicIps => setOptions({ noPublicIps })}
        />
      )}
      {takes('dataflow.flexrs') && (
        <CheckField
          field="dataflow.flexrs"
          label="FlexRS: later, on cheaper workers (batch)"
          checked={options.flexrs}
          errors={errors}
          onChange={flexrs => setOptions({ flexrs })}
        />
      )}
      {takes('dataflow.prime') && (
        <CheckField
          field="dataflow.prime"
          label="Dataflow Prime"
          checked={options.prime}
          errors={errors}
          onChange={prime => setOptions({ prime })}
        />
      )}
      {text('encryption_key', 'encryptionKey', 'Encryption key (CMEK)', {
        placeholder: 'projects/P/locations/R/keyRings/K/cryptoKeys/C'
      })}
      {text('tensorboard', 'tensorboard', 'TensorBoard', {
        placeholder: 'projects/P/locations/R/tensorboards/N',
        hint: 'In the job’s region; it needs a service account.'
      })}
      {text('scheduling.max_cost_usd', 'maxCostUsd', 'Cost cap (USD)', {
        inputMode: 'decimal',
        placeholder: 'none',
        hint: `Cancel the job when its estimated cost reaches this. ${COST_CAP_NOTE}`
      })}
      <LabelsField
        rows={options.labels}
        errors={errors}
        onChange={labels => setOptions({ labels })}
      />
      {takes('scheduling.fallbacks') && (
        <FallbacksEditor
          rows={options.fallbacks}
          onChange={fallbacks => setOptions({ fallbacks })}
          errors={errors}
          catalog={props.catalog}
          strategies={capabilities?.scheduling ?? []}
          region={state.resources.region}
          acceleratorType={state.resources.accelerator_type}
        />
      )}
    </>
  );
}
