/**
 * The launch form's "Run now / On a schedule": cron presets, the time zone,
 * a readable preview, what happens when runs overlap, and, for a backend
 * that can, whether Google Cloud fires it with JupyterLab closed.
 */
import * as React from 'react';

import { IBackendCapabilities, IFieldError } from '../api';
import { Field } from './Field';
import {
  CRON_PRESETS,
  CronPreset,
  IScheduleChoice,
  OVERLAP_CHOICES,
  cronOf,
  knownTimeZones,
  previewText,
  runsInChoice
} from './scheduleChoice';

const ZONES_ID = 'jp-mlp-schedule-zones';

export function ScheduleSection(props: {
  value: IScheduleChoice;
  capabilities: IBackendCapabilities | undefined;
  errors: readonly IFieldError[];
  /** The schedule's next fire, once the server has said it (editing). */
  nextFireAt?: string | null;
  onChange: (value: IScheduleChoice) => void;
}): JSX.Element {
  const { value, capabilities, errors, onChange } = props;
  const set = (patch: Partial<IScheduleChoice>) =>
    onChange({ ...value, ...patch });
  const runsIn = runsInChoice(capabilities);
  const inCloud = runsIn.offered && value.runsIn === 'cloud';
  const zones = React.useMemo(knownTimeZones, []);
  return (
    <section className="jp-mlp-SubmitForm-section" aria-label="When">
      <h3>When</h3>
      <div
        className="jp-mlp-ScheduleSection-when"
        role="radiogroup"
        aria-label="When to run"
      >
        {(['now', 'schedule'] as const).map(when => (
          <label key={when}>
            <input
              type="radio"
              name="jp-mlp-when"
              value={when}
              checked={value.when === when}
              onChange={() => set({ when })}
            />{' '}
            {when === 'now' ? 'Run now' : 'On a schedule'}
          </label>
        ))}
      </div>
      {value.when === 'schedule' && (
        <>
          <Field field="cron" label="Repeat" errors={errors}>
            {input => (
              <select
                {...input}
                value={value.preset}
                onChange={event =>
                  set({ preset: event.target.value as CronPreset })
                }
              >
                {CRON_PRESETS.map(preset => (
                  <option key={preset.id} value={preset.id}>
                    {preset.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {value.preset === 'custom' && (
            <Field
              field="cron-custom"
              label="Cron expression"
              errors={[]}
              hint="minute hour day-of-month month day-of-week, e.g. 0 3 * * 1-5"
            >
              {input => (
                <input
                  {...input}
                  type="text"
                  value={value.customCron}
                  placeholder="0 3 * * *"
                  spellCheck={false}
                  onChange={event => set({ customCron: event.target.value })}
                />
              )}
            </Field>
          )}
          <Field field="timezone" label="Time zone" errors={errors}>
            {input => (
              <input
                {...input}
                type="text"
                list={ZONES_ID}
                value={value.timezone}
                spellCheck={false}
                onChange={event => set({ timezone: event.target.value })}
              />
            )}
          </Field>
          <datalist id={ZONES_ID}>
            {zones.map(zone => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
          <div className="jp-mlp-ScheduleSection-preview" aria-live="polite">
            {previewText(cronOf(value), value.timezone, props.nextFireAt)}
          </div>
          {runsIn.offered && (
            <Field field="runs_in" label="Runs in" errors={errors}>
              {input => (
                <select
                  {...input}
                  value={value.runsIn}
                  onChange={event =>
                    set({ runsIn: event.target.value as 'server' | 'cloud' })
                  }
                >
                  <option value="server">This server</option>
                  <option value="cloud">
                    Google Cloud (with JupyterLab closed)
                  </option>
                </select>
              )}
            </Field>
          )}
          {runsIn.note && (
            <div className="jp-mlp-Field-hint">{runsIn.note}</div>
          )}
          <Field
            field="overlap"
            label="If the last run still runs"
            errors={errors}
            hint={
              inCloud
                ? 'Cloud Scheduler cannot see the last run: runs may overlap.'
                : undefined
            }
          >
            {input => (
              <select
                {...input}
                value={inCloud ? 'allow' : value.overlap}
                disabled={inCloud}
                onChange={event =>
                  set({
                    overlap: event.target.value as IScheduleChoice['overlap']
                  })
                }
              >
                {OVERLAP_CHOICES.map(choice => (
                  <option key={choice.id} value={choice.id}>
                    {choice.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </>
      )}
    </section>
  );
}
