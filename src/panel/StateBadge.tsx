import * as React from 'react';

import { JobState } from '../api';
import { formatState } from './format';

/** A job's state as a small coloured label (colour is never the only cue). */
export function StateBadge({ state }: { state: JobState }): JSX.Element {
  return (
    <span
      className={`jp-mlp-StateBadge jp-mlp-StateBadge-${state.toLowerCase()}`}
    >
      {formatState(state)}
    </span>
  );
}
