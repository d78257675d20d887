/**
 * The table's parameter values: a list page has no parameters, so each job is
 * fetched whole once (its spec and declared defaults never change).
 */
import { JobSummary } from '../api';
import { JobsModel } from '../panel/model';
import { IParameterValues, parameterValues } from './columns';

/** How many jobs are fetched at once. */
const FETCH_CONCURRENCY = 4;

/** Fetches whole jobs for their parameters, a few at a time. */
export class ParameterCache {
  constructor(private readonly _model: JobsModel) {}

  readonly values = new Map<string, IParameterValues>();

  /** Fetch the parameters of the jobs not known yet; `done` runs after each. */
  fetch(jobs: readonly JobSummary[], done: () => void): void {
    for (const job of jobs) {
      if (!this.values.has(job.id) && !this._queued.has(job.id)) {
        this._queued.add(job.id);
        this._queue.push(job.id);
      }
    }
    this._done = done;
    while (this._running < FETCH_CONCURRENCY && this._queue.length) {
      this._running++;
      void this._next();
    }
  }

  private async _next(): Promise<void> {
    const id = this._queue.shift();
    if (id !== undefined) {
      try {
        this.values.set(
          id,
          parameterValues(await this._model.client.getJob(id))
        );
      } catch {
        // A deleted job has no parameters to show; leave its cells empty.
        this.values.set(id, { given: {}, defaults: {} });
      }
      this._done();
      return this._next();
    }
    this._running--;
  }

  private _queue: string[] = [];
  private _queued = new Set<string>();
  private _running = 0;
  private _done: () => void = () => undefined;
}
