/**
 * The panel's view of the job list: fetched from the server, refreshed when
 * the server announces a state change, and polled as a fallback.
 */
import type { Event } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import type { IDisposable } from '@lumino/disposable';

import { IJob, MLPClient } from '../api';

/** The jupyter_events schema the server emits on every job state change. */
export const JOB_STATE_SCHEMA =
  'https://events.jupyter.org/jupyter_mlp/job_state/v1';

/** The data of a job state event. */
export interface IJobStateEvent {
  job_id: string;
  name: string;
  kind: string;
  backend: string;
  state: string;
  previous_state: string | null;
}

export namespace JobsModel {
  export interface IOptions {
    client: MLPClient;
    /** The server's event stream (`app.serviceManager.events.stream`). */
    events?: Event.Stream;
    /** Seconds between fallback polls while the panel is shown. */
    pollInterval?: number;
    /** How many of the newest jobs to list. */
    limit?: number;
  }
}

/** Polls are this many times slower while the panel is hidden. */
const HIDDEN_SLOWDOWN = 6;

export class JobsModel implements IDisposable {
  constructor(options: JobsModel.IOptions) {
    this.client = options.client;
    this._limit = options.limit ?? 100;
    this._pollInterval = (options.pollInterval ?? 5) * 1000;
    this._events = options.events ?? null;
    this._events?.connect(this._onEvent, this);
    this._poll = new Poll({
      auto: false,
      factory: async () => {
        await this.refresh();
        if (this._error !== null) {
          // Rejecting lets the poll back off while the server is unreachable.
          throw new Error(this._error);
        }
      },
      frequency: {
        interval: this._pollInterval * HIDDEN_SLOWDOWN,
        backoff: true,
        max: 5 * 60 * 1000
      },
      name: 'jupyter-mlp:jobs',
      standby: 'when-hidden'
    });
  }

  readonly client: MLPClient;

  /** The newest jobs, newest first. */
  get jobs(): readonly IJob[] {
    return this._jobs;
  }

  /** The last error met while fetching, or null when the last fetch worked. */
  get error(): string | null {
    return this._error;
  }

  /** Whether at least one fetch has finished (successfully or not). */
  get loaded(): boolean {
    return this._loaded;
  }

  /** Emitted after every fetch, and when the error changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted with each job state event the server sends. */
  get jobStateChanged(): ISignal<this, IJobStateEvent> {
    return this._jobStateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Seconds between fallback polls while the panel is shown. */
  get pollInterval(): number {
    return this._pollInterval / 1000;
  }
  set pollInterval(seconds: number) {
    this._pollInterval = Math.max(1, seconds) * 1000;
    this._applyFrequency();
  }

  /** Poll at the normal rate while the panel is shown, slower while hidden. */
  setVisible(visible: boolean): void {
    this._visible = visible;
    this._applyFrequency();
    if (visible) {
      void this.refresh();
    }
  }

  /** Start polling (also refreshes at once). */
  start(): void {
    void this._poll.start();
  }

  /**
   * Fetch the list now. A call made while a fetch is in flight fetches once
   * more after it (that fetch may have read the list before the change it
   * was called for), and every caller waits for that last fetch.
   */
  refresh(): Promise<void> {
    if (this._inFlight) {
      this._again = true;
      return this._inFlight;
    }
    const run = async () => {
      do {
        this._again = false;
        await this._fetch();
      } while (this._again && !this._isDisposed);
    };
    this._inFlight = run().finally(() => {
      this._inFlight = null;
    });
    return this._inFlight;
  }

  /** Find a listed job by id. */
  find(id: string): IJob | undefined {
    return this._jobs.find(job => job.id === id);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.disconnect(this._onEvent, this);
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _applyFrequency(): void {
    const interval = this._visible
      ? this._pollInterval
      : this._pollInterval * HIDDEN_SLOWDOWN;
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
  }

  private async _fetch(): Promise<void> {
    try {
      const page = await this.client.listJobs({ limit: this._limit });
      this._jobs = page.jobs;
      this._error = null;
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._loaded = true;
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _onEvent(_: unknown, emission: Event.Emission): void {
    if (emission.schema_id !== JOB_STATE_SCHEMA) {
      return;
    }
    this._jobStateChanged.emit(emission as unknown as IJobStateEvent);
    void this.refresh();
  }

  private _jobs: IJob[] = [];
  private _error: string | null = null;
  private _loaded = false;
  private _isDisposed = false;
  private _visible = false;
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _limit: number;
  private _pollInterval: number;
  private _events: Event.Stream | null;
  private _poll: Poll;
  private _changed = new Signal<this, void>(this);
  private _jobStateChanged = new Signal<this, IJobStateEvent>(this);
}
