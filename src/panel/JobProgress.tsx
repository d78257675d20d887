/**
 * A notebook job's progress: "cell 4 of 12", the running cell's first line
 * and a bar, in the detail; a thin bar and the count in a list row.
 */
import * as React from 'react';

import { IProgress } from '../api';
import { progressFraction, progressText } from './progress';

/** The bar alone: a `progressbar` for assistive technology, a thin line to the eye. */
export function ProgressBar(props: {
  progress: IProgress;
  className?: string;
}): JSX.Element {
  const { progress } = props;
  const percent = Math.round(progressFraction(progress) * 100);
  return (
    <div
      className={`jp-mlp-ProgressBar ${props.className ?? ''}`}
      role="progressbar"
      aria-label="Cells done"
      aria-valuemin={0}
      aria-valuemax={progress.cells_total}
      aria-valuenow={progress.cells_done}
      aria-valuetext={`${progress.cells_done} of ${progress.cells_total} cells done`}
    >
      <div
        className="jp-mlp-ProgressBar-fill"
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}

/** The detail's progress: the count, the running cell's first line, the bar. */
export function JobProgress(props: { progress: IProgress }): JSX.Element {
  const { progress } = props;
  return (
    <div className="jp-mlp-Progress" aria-label="Progress">
      <div className="jp-mlp-Progress-text">
        <span className="jp-mlp-Progress-count">
          Running {progressText(progress)}
        </span>
        {progress.cell_source && (
          <code className="jp-mlp-Progress-source" title={progress.cell_source}>
            {progress.cell_source}
          </code>
        )}
      </div>
      <ProgressBar progress={progress} />
    </div>
  );
}
