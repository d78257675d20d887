/**
 * The job list's filters: a name search (any part of it, searched by the server)
 * and state, backend and kind.
 */
import * as React from 'react';
import { useEffect, useState } from 'react';

import { JobKind, JobState } from '../api';
import { JOB_STATES } from '../vocabulary';
import { formatState } from './format';
import { JobListFilter } from './model';

const STATES = JOB_STATES;
const SEARCH_DELAY_MS = 300;

export interface IFiltersProps {
  filter: JobListFilter;
  backends: readonly string[];
  onChange: (filter: JobListFilter) => void;
}

export function Filters({
  filter,
  backends,
  onChange
}: IFiltersProps): JSX.Element {
  const [name, setName] = useState(filter.name ?? '');

  // The model's filter wins when it changes elsewhere (e.g. "clear filters").
  useEffect(() => setName(filter.name ?? ''), [filter.name]);

  useEffect(() => {
    if (name === (filter.name ?? '')) {
      return;
    }
    const timer = window.setTimeout(
      () => onChange({ ...filter, name }),
      SEARCH_DELAY_MS
    );
    return () => window.clearTimeout(timer);
  }, [name, filter, onChange]);

  return (
    <div className="jp-mlp-Filters" role="search" aria-label="Filter jobs">
      <input
        type="search"
        className="jp-mlp-Filters-search"
        placeholder="Search by name"
        aria-label="Search jobs by name"
        value={name}
        onChange={event => setName(event.target.value)}
      />
      <div className="jp-mlp-Filters-selects">
        <select
          aria-label="Filter by state"
          value={filter.state ?? ''}
          onChange={event =>
            onChange({
              ...filter,
              state: (event.target.value || undefined) as JobState | undefined
            })
          }
        >
          <option value="">All states</option>
          {STATES.map(state => (
            <option key={state} value={state}>
              {formatState(state)}
            </option>
          ))}
        </select>
        <select
          aria-label="Filter by backend"
          value={filter.backend ?? ''}
          onChange={event =>
            onChange({ ...filter, backend: event.target.value || undefined })
          }
        >
          <option value="">All backends</option>
          {backends.map(backend => (
            <option key={backend} value={backend}>
              {backend}
            </option>
          ))}
        </select>
        <select
          aria-label="Filter by kind"
          value={filter.kind ?? ''}
          onChange={event =>
            onChange({
              ...filter,
              kind: (event.target.value || undefined) as JobKind | undefined
            })
          }
        >
          <option value="">All kinds</option>
          <option value="train">Training</option>
          <option value="etl">ETL</option>
        </select>
      </div>
    </div>
  );
}
