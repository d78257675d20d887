/**
 * JupyterLab notifications for the jobs launched from this JupyterLab: when
 * one ends (succeeded, failed, cancelled), a notification says so, with a
 * button that opens the job in the panel. A job stopped by its cost cap is
 * said at once (any job: money is at stake), and stays until dismissed. A
 * scheduled run that fails is said too, wherever it was launched from, naming
 * its schedule (nobody watches a run at 3 a.m.).
 */
import { Notification } from '@jupyterlab/apputils';
import type { IDisposable } from '@lumino/disposable';

import { JobState, TERMINAL_STATES } from '../api';
import { costCapReason } from './format';
import { IJobStateEvent, JobsModel } from './model';

/** How long a success or a cancellation stays on screen; failures stay until dismissed. */
const SHOWN_MS = 10000;

export class JobNotifier implements IDisposable {
  /**
   * @param model - the job list, whose events and fetches say when a job ends.
   * @param open - shows a job in the panel.
   */
  constructor(
    private readonly _model: JobsModel,
    private readonly _open: (id: string) => void
  ) {
    _model.jobStateChanged.connect(this._onEvent, this);
    _model.changed.connect(this._onFetched, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Notify when this job ends. */
  watch(job: { id: string; name: string }): void {
    this._watched.set(job.id, job.name);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.jobStateChanged.disconnect(this._onEvent, this);
    this._model.changed.disconnect(this._onFetched, this);
    this._watched.clear();
  }

  private _onEvent(_: JobsModel, event: IJobStateEvent): void {
    const capped = costCapReason(event.state_message);
    if (capped !== null) {
      this._watched.delete(event.job_id);
      this._notifyCapped(event.job_id, event.name, capped);
      return;
    }
    const name = this._watched.get(event.job_id);
    if (name === undefined && event.state === 'FAILED') {
      void this._notifyScheduledFailure(event.job_id);
      return;
    }
    if (name === undefined || !TERMINAL_STATES.has(event.state as JobState)) {
      return;
    }
    this._watched.delete(event.job_id);
    // The event has no message: a failure is said with the job's own.
    void this._model.client
      .getJob(event.job_id)
      .catch(() => null)
      .then(job =>
        this._notify(
          event.job_id,
          name,
          job?.state ?? (event.state as JobState),
          job?.state_message ?? null
        )
      );
  }

  /** The list is the fallback when an event was missed (a dropped connection). */
  private _onFetched(): void {
    for (const [id, name] of [...this._watched]) {
      const job = this._model.find(id);
      if (job && TERMINAL_STATES.has(job.state)) {
        this._watched.delete(id);
        this._notify(id, name, job.state, job.state_message ?? null);
      }
    }
  }

  private _notify(
    id: string,
    name: string,
    state: JobState,
    message: string | null
  ): void {
    if (this._isDisposed) {
      return;
    }
    const label = name || id;
    const actions = this._actions(id, label);
    const capped = costCapReason(message);
    if (capped !== null) {
      this._notifyCapped(id, name, capped);
    } else if (state === 'SUCCEEDED') {
      Notification.success(`Job ${label} succeeded.`, {
        autoClose: SHOWN_MS,
        actions
      });
    } else if (state === 'FAILED') {
      const reason = (message ?? '').split('\n')[0].trim();
      Notification.error(`Job ${label} failed${reason ? `: ${reason}` : '.'}`, {
        autoClose: false,
        actions
      });
    } else {
      Notification.warning(`Job ${label} was cancelled.`, {
        autoClose: SHOWN_MS,
        actions
      });
    }
  }

  /** A failed run of a schedule: said once, with the schedule's name and the job's reason. */
  private async _notifyScheduledFailure(id: string): Promise<void> {
    const { client } = this._model;
    const job = await client.getJob(id).catch(() => null);
    if (!job?.schedule_id || this._isDisposed || this._failedRuns.has(id)) {
      return;
    }
    this._failedRuns.add(id);
    const schedule = await client
      .getSchedule(job.schedule_id)
      .catch(() => null);
    const label = schedule?.name ?? job.name ?? job.schedule_id;
    const reason = (job.state_message ?? '').split('\n')[0].trim();
    Notification.error(
      `Scheduled run of ${label} failed${reason ? `: ${reason}` : '.'}`,
      { autoClose: false, actions: this._actions(id, job.name || id) }
    );
  }

  /** Once per job: its cap is said on CANCELLING, not again on CANCELLED. */
  private _notifyCapped(id: string, name: string, reason: string): void {
    if (this._isDisposed || this._capped.has(id)) {
      return;
    }
    this._capped.add(id);
    const label = name || id;
    Notification.warning(
      `Job ${label} was stopped by its cost cap: ${reason}.`,
      {
        autoClose: false,
        actions: this._actions(id, label)
      }
    );
  }

  private _actions(id: string, label: string) {
    return [
      {
        label: 'Open job',
        caption: `Show ${label} in the ML jobs panel`,
        callback: () => this._open(id)
      }
    ];
  }

  private _isDisposed = false;
  /** The scheduled runs whose failure was said. */
  private _failedRuns = new Set<string>();
  /** The jobs whose cost cap was said. */
  private _capped = new Set<string>();
  /** The jobs to notify about, by id, with their names. */
  private _watched = new Map<string, string>();
}
