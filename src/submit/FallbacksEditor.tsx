/**
 * "If there is no capacity: try these next": the ordered alternatives a
 * job goes on with when Vertex AI ends an attempt for lack of capacity or
 * quota, each a partial override of region, machine, GPUs and strategy.
 * Writes `scheduling.fallbacks`.
 */
import * as React from 'react';

import { ICloudCatalog, IFieldError, Strategy } from '../api';
import { TextField } from './AdvancedInputs';
import { ErrorList, Field } from './Field';
import { IFallbackRow, NO_FALLBACK } from './launchOptions';
import { offeredIn } from './picker';

const STRATEGY_NAMES: Record<Strategy, string> = {
  standard: 'On demand',
  spot: 'Spot',
  flex_start: 'Flex-start'
};

export interface IFallbacksEditorProps {
  rows: IFallbackRow[];
  onChange: (rows: IFallbackRow[]) => void;
  errors: readonly IFieldError[];
  catalog: ICloudCatalog | null;
  /** The strategies the backend offers beyond the standard one. */
  strategies: readonly string[];
  /** The job's own region (an alternative offers another). */
  region: string;
  /** The job's accelerator: another region is one that offers it. */
  acceleratorType: string;
}

/**
 * The region to offer next: the catalog's first not yet tried that offers
 * the job's accelerator (or may: where the catalog does not know).
 */
export function nextRegion(
  catalog: ICloudCatalog | null,
  region: string,
  rows: readonly IFallbackRow[],
  acceleratorType = ''
): string {
  if (!catalog) {
    return '';
  }
  const tried = new Set([
    region || catalog.default_region,
    ...rows.map(r => r.region)
  ]);
  const accelerator = catalog.accelerators.find(
    a => a.type === acceleratorType
  );
  return (
    catalog.regions.find(
      r =>
        !tried.has(r) &&
        (!accelerator || offeredIn(catalog, accelerator, r) !== false)
    ) ?? ''
  );
}

export function FallbacksEditor(props: IFallbacksEditorProps): JSX.Element {
  const { rows, onChange, errors, catalog } = props;
  const strategies: Strategy[] = [
    'standard',
    ...(['spot', 'flex_start'] as Strategy[]).filter(s =>
      props.strategies.includes(s)
    )
  ];
  const add = (row: Partial<IFallbackRow>) =>
    onChange([...rows, { ...NO_FALLBACK, ...row }]);
  const set = (index: number, patch: Partial<IFallbackRow>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  const move = (index: number, by: number) => {
    const moved = [...rows];
    const [row] = moved.splice(index, 1);
    moved.splice(index + by, 0, row);
    onChange(moved);
  };
  const whole = errors.filter(e => e.field === 'scheduling.fallbacks');
  return (
    <fieldset className="jp-mlp-Fallbacks" data-field="scheduling.fallbacks">
      <legend className="jp-mlp-Field-label">
        If there is no capacity: try these next
      </legend>
      <div className="jp-mlp-Field-hint">
        In order, each changing only what it names; the rest is the job's own.
      </div>
      <datalist id="jp-mlp-Fallbacks-regions">
        {(catalog?.regions ?? []).map(r => (
          <option key={r} value={r} />
        ))}
      </datalist>
      <datalist id="jp-mlp-Fallbacks-machines">
        {(catalog?.machine_types ?? []).map(m => (
          <option key={m.name} value={m.name} />
        ))}
      </datalist>
      <ol className="jp-mlp-Fallbacks-list">
        {rows.map((row, index) => (
          <FallbackRow
            key={index}
            index={index}
            count={rows.length}
            row={row}
            strategies={strategies}
            errors={errors}
            onChange={patch => set(index, patch)}
            onMove={by => move(index, by)}
            onRemove={() => onChange(rows.filter((_, i) => i !== index))}
          />
        ))}
      </ol>
      {whole.length > 0 && <ErrorList errors={whole} />}
      <div className="jp-mlp-Fallbacks-add">
        <button
          type="button"
          className="jp-mlp-TextButton"
          onClick={() =>
            add({
              region: nextRegion(
                catalog,
                props.region,
                rows,
                props.acceleratorType
              )
            })
          }
        >
          + Another region
        </button>
        {strategies.includes('flex_start') && (
          <button
            type="button"
            className="jp-mlp-TextButton"
            onClick={() => add({ strategy: 'flex_start' })}
          >
            + Flex-start
          </button>
        )}
        <button
          type="button"
          className="jp-mlp-TextButton"
          onClick={() => add({ strategy: 'standard' })}
        >
          + On demand
        </button>
      </div>
    </fieldset>
  );
}

function FallbackRow(props: {
  index: number;
  count: number;
  row: IFallbackRow;
  strategies: Strategy[];
  errors: readonly IFieldError[];
  onChange: (patch: Partial<IFallbackRow>) => void;
  onMove: (by: number) => void;
  onRemove: () => void;
}): JSX.Element {
  const { index, row, errors, onChange } = props;
  const number = index + 1;
  const field = (name: string) => `scheduling.fallbacks[${index}]${name}`;
  const whole = errors.filter(e => e.field === field(''));
  return (
    <li className="jp-mlp-Fallbacks-row" aria-label={`Alternative ${number}`}>
      <div className="jp-mlp-Fallbacks-head">
        <span className="jp-mlp-Fallbacks-number">{number}.</span>
        <button
          type="button"
          className="jp-mlp-TextButton"
          aria-label={`Move alternative ${number} up`}
          title="Try it earlier"
          disabled={index === 0}
          onClick={() => props.onMove(-1)}
        >
          ↑
        </button>
        <button
          type="button"
          className="jp-mlp-TextButton"
          aria-label={`Move alternative ${number} down`}
          title="Try it later"
          disabled={index === props.count - 1}
          onClick={() => props.onMove(1)}
        >
          ↓
        </button>
        <button
          type="button"
          className="jp-mlp-TextButton"
          aria-label={`Remove alternative ${number}`}
          title="Remove this alternative"
          onClick={props.onRemove}
        >
          ×
        </button>
      </div>
      <div className="jp-mlp-FieldRow">
        <Field field={field('.region')} label="Region" errors={errors}>
          {input => (
            <input
              {...input}
              type="text"
              list="jp-mlp-Fallbacks-regions"
              placeholder="the job's"
              value={row.region}
              onChange={event => onChange({ region: event.target.value })}
            />
          )}
        </Field>
        <Field field={field('.strategy')} label="Capacity" errors={errors}>
          {input => (
            <select
              {...input}
              value={row.strategy}
              onChange={event =>
                onChange({ strategy: event.target.value as Strategy | '' })
              }
            >
              <option value="">the job's</option>
              {props.strategies.map(s => (
                <option key={s} value={s}>
                  {STRATEGY_NAMES[s]}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field
        field={field('.machine_type')}
        label="Machine type"
        errors={errors}
      >
        {input => (
          <input
            {...input}
            type="text"
            list="jp-mlp-Fallbacks-machines"
            placeholder="the job's"
            value={row.machine_type}
            onChange={event => onChange({ machine_type: event.target.value })}
          />
        )}
      </Field>
      <div className="jp-mlp-FieldRow">
        <TextField
          field={field('.accelerator_type')}
          label="GPU type"
          value={row.accelerator_type}
          errors={errors}
          placeholder="the job's"
          onChange={accelerator_type => onChange({ accelerator_type })}
        />
        <TextField
          field={field('.accelerator_count')}
          label="GPUs"
          value={row.accelerator_count}
          errors={errors}
          inputMode="numeric"
          placeholder="the job's"
          onChange={accelerator_count => onChange({ accelerator_count })}
        />
      </div>
      {whole.length > 0 && <ErrorList errors={whole} />}
    </li>
  );
}
