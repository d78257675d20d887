/**
 * The panel's view of the job list: fetched from the server, refreshed when
 * the server announces a state change, and polled as a fallback.
 */
import type { Event } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import type { IDisposable } from '@lumino/disposable';

import {
  IJob,
  IJobFilter,
  JobState,
  JobSummary,
  MLPClient,
  TERMINAL_STATES
} from '../api';
import { JOB_STATES } from '../vocabulary';

/** The list's filters: server-side query parameters (`name`: any part of the name). */
export type JobListFilter = Omit<IJobFilter, 'limit' | 'cursor'>;

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
  state_message?: string;
}

export namespace JobsModel {
  export interface IOptions {
    client: MLPClient;
    /** The server's event stream (`app.serviceManager.events.stream`). */
    events?: Event.Stream;
    /** Seconds between fallback polls while the panel is shown. */
    pollInterval?: number;
    /** How many jobs to fetch per page. */
    pageSize?: number;
  }
}

/** Polls are this many times slower while the panel is hidden. */
const HIDDEN_SLOWDOWN = 6;

export class JobsModel implements IDisposable {
  constructor(options: JobsModel.IOptions) {
    this.client = options.client;
    this._pageSize = options.pageSize ?? 100;
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

  /** The loaded jobs matching the filter, newest first (summaries: see `JobSummary`). */
  get jobs(): readonly JobSummary[] {
    return this._jobs;
  }

  /** Whether older jobs match the filter than those loaded. */
  get hasMore(): boolean {
    return this._next !== null;
  }

  /** Whether a page of older jobs is being fetched. */
  get loadingMore(): boolean {
    return this._loadingMore !== null;
  }

  /** The list's filters; setting them reloads the list from its first page. */
  get filter(): JobListFilter {
    return this._filter;
  }
  set filter(filter: JobListFilter) {
    const clean = Object.fromEntries(
      Object.entries(filter).filter(([, value]) => value)
    ) as JobListFilter;
    if (JSON.stringify(clean) === JSON.stringify(this._filter)) {
      return;
    }
    this._filter = clean;
    this._generation++;
    this._jobs = [];
    this._next = null;
    this._loaded = false;
    this._changed.emit();
    void this.refresh();
  }

  /** Whether any filter is set. */
  get filtered(): boolean {
    return Object.keys(this._filter).length > 0;
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

  /** Fetch the next page of older jobs and append it. */
  loadMore(): Promise<void> {
    if (this._loadingMore) {
      return this._loadingMore;
    }
    const cursor = this._next;
    if (cursor === null) {
      return Promise.resolve();
    }
    const generation = this._generation;
    const run = async () => {
      try {
        const page = await this.client.listJobs({
          ...this._filter,
          limit: this._pageSize,
          cursor
        });
        if (generation !== this._generation) {
          return;
        }
        const known = new Set(this._jobs.map(job => job.id));
        this._jobs = [
          ...this._jobs,
          ...page.jobs.filter(job => !known.has(job.id))
        ];
        this._next = page.next;
        this._error = null;
      } catch (error) {
        this._error = error instanceof Error ? error.message : String(error);
      }
    };
    this._loadingMore = run().finally(() => {
      this._loadingMore = null;
      if (!this._isDisposed) {
        this._changed.emit();
      }
    });
    this._changed.emit();
    return this._loadingMore;
  }

  /** Find a listed job (a summary) by id. */
  find(id: string): JobSummary | undefined {
    return this._jobs.find(job => job.id === id);
  }

  /** Forget a job the server deleted. */
  remove(id: string): void {
    const before = this._jobs.length;
    this._jobs = this._jobs.filter(job => job.id !== id);
    if (this._jobs.length !== before) {
      this._changed.emit();
    }
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

  /**
   * Fetch the first page and merge it with the older pages already loaded;
   * loaded jobs outside the first page that changed are fetched one by one.
   */
  private async _fetch(): Promise<void> {
    const generation = this._generation;
    try {
      const page = await this.client.listJobs({
        ...this._filter,
        limit: this._pageSize
      });
      if (generation !== this._generation) {
        return;
      }
      const fresh = new Set(page.jobs.map(job => job.id));
      const last = page.jobs[page.jobs.length - 1];
      const cut = last ? this._jobs.findIndex(job => job.id === last.id) : -1;
      const older =
        page.next === null
          ? []
          : cut >= 0
            ? this._jobs.slice(cut + 1)
            : this._jobs.filter(
                job => !fresh.has(job.id) && job.created_at < last.created_at
              );
      const stale = [...this._stale].filter(id => !fresh.has(id));
      this._stale.clear();
      const updated = await Promise.all(
        stale.map(id => this.client.getJob(id).catch(() => null))
      );
      const byId = new Map(
        updated.filter((job): job is IJob => job !== null).map(j => [j.id, j])
      );
      this._jobs = [
        ...page.jobs,
        ...older
          .filter(job => !stale.includes(job.id) || byId.has(job.id))
          .map(job => byId.get(job.id) ?? job)
      ];
      if (older.length === 0 || this._next === null) {
        this._next = page.next;
      }
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
    const event = emission as unknown as IJobStateEvent;
    this._jobStateChanged.emit(event);
    // A loaded job beyond the first page is fetched on its own.
    if (
      this._jobs.findIndex(job => job.id === event.job_id) >= this._pageSize
    ) {
      this._stale.add(event.job_id);
    }
    void this.refresh();
  }

  private _jobs: JobSummary[] = [];
  private _error: string | null = null;
  private _loaded = false;
  private _isDisposed = false;
  private _visible = false;
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _pageSize: number;
  private _filter: JobListFilter = {};
  private _next: string | null = null;
  private _generation = 0;
  private _loadingMore: Promise<void> | null = null;
  private _stale = new Set<string>();
  private _pollInterval: number;
  private _events: Event.Stream | null;
  private _poll: Poll;
  private _changed = new Signal<this, void>(this);
  private _jobStateChanged = new Signal<this, IJobStateEvent>(this);
}

/** The fields of a job that change while it lives; a summary carries them all. */
const LIVE_FIELDS = [
  'state',
  'state_message',
  'backend_state',
  'backend_job_id',
  'console_url',
  'started_at',
  'ended_at',
  'cost',
  'outputs'
] as const satisfies readonly (keyof IJob)[];

/** How far along its life a job is; a job never goes back. */
function progress(state: JobState): number {
  if (TERMINAL_STATES.has(state)) {
    return 4;
  }
  return JOB_STATES.indexOf(state);
}

/**
 * The job to show in detail: the fetched whole job (its spec, its timeline),
 * with the live fields of the listed summary when that is as far along or
 * further (the list is refreshed more often than the job is fetched). A
 * summary's slim spec and empty timeline are never shown as the job's: until
 * the job is fetched there is nothing to show.
 */
export function jobToShow(
  fetched: IJob | null,
  listed: JobSummary | undefined
): IJob | null {
  if (
    fetched === null ||
    listed === undefined ||
    listed.id !== fetched.id ||
    progress(listed.state) < progress(fetched.state)
  ) {
    return fetched;
  }
  const live = Object.fromEntries(
    LIVE_FIELDS.filter(key => key in listed).map(key => [key, listed[key]])
  ) as Partial<IJob>;
  return { ...fetched, ...live };
}
