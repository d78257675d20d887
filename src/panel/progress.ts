/**
 * How far a notebook job has run, in words and as a fraction, for the list's
 * rows and the detail.
 */
import { IJob, IProgress, TERMINAL_STATES } from '../api';

/** The progress worth showing: a live job's, with cells to count; else null. */
export function shownProgress(
  job: Pick<IJob, 'state' | 'progress'>
): IProgress | null {
  const progress = job.progress;
  if (
    !progress ||
    TERMINAL_STATES.has(job.state) ||
    !(progress.cells_total > 0)
  ) {
    return null;
  }
  return progress;
}

/** The running cell's number: the one reported, else the one after those done. */
function runningCell(progress: IProgress): number {
  const cell = progress.cell ?? progress.cells_done + 1;
  return Math.max(1, Math.min(cell, progress.cells_total));
}

/** "cell 4 of 12" (code cells, counted from 1). */
export function progressText(progress: IProgress): string {
  return `cell ${runningCell(progress)} of ${progress.cells_total}`;
}

/** The share of cells done, between 0 and 1. */
export function progressFraction(progress: IProgress): number {
  if (!(progress.cells_total > 0)) {
    return 0;
  }
  return Math.max(0, Math.min(1, progress.cells_done / progress.cells_total));
}
