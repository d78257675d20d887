/**
 * The Schedules view's model: the server's schedules with their latest runs
 * (fetched, never kept as a second copy of a job's state), each schedule as
 * the list shows it (when, next run, a strip of its last runs' states), and
 * a schedule's runs side by side (parameters, metric, cost).
 */
import { ISignal, Signal } from '@lumino/signaling';

import type {
  IJob,
  JobState,
  ISchedule,
  IScheduleFire,
  JobSummary,
  MLPClient
} from '../api';
import { describeCron, fireTimeText } from '../submit/scheduleChoice';

/** How many of its latest runs a schedule's strip shows. */
export const STRIP_LENGTH = 8;

export type RunMarkKind =
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'running'
  | 'started'
  | 'queued'
  | 'skipped'
  | 'missed';

/** One small mark of the strip: one fire time and what became of it. */
export interface IRunMark {
  key: string;
  kind: RunMarkKind;
  /** In words, for the tooltip and screen readers. */
  title: string;
  /** The run's job, when one was started. */
  jobId: string | null;
}

/** A schedule as the list shows it. */
export interface IScheduleRow {
  id: string;
  name: string;
  when: string;
  next: string;
  paused: boolean;
  /** Oldest first, so the strip reads left to right. */
  marks: IRunMark[];
}

function jobMark(state: string): RunMarkKind {
  switch (state) {
    case 'SUCCEEDED':
      return 'succeeded';
    case 'FAILED':
      return 'failed';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'running';
  }
}

function fireMark(
  fire: IScheduleFire,
  timezone: string,
  runs: Map<string, JobSummary>
): IRunMark {
  const run = fire.job_id ? runs.get(fire.job_id) : undefined;
  const kind: RunMarkKind =
    fire.outcome === 'started'
      ? run
        ? jobMark(run.state)
        : 'started'
      : fire.outcome;
  const message = fire.message ? `: ${fire.message}` : '';
  return {
    key: `${fire.fire_at}-${fire.job_id ?? ''}`,
    kind,
    title: `${fireTimeText(fire.fire_at, timezone)} ${kind}${message}`,
    jobId: fire.job_id ?? null
  };
}

/**
 * The latest runs' marks, oldest first: from the schedule's fires, or, for a
 * schedule whose fires the server does not see (Cloud Scheduler's), its runs.
 */
export function runMarks(
  schedule: ISchedule,
  runs: readonly JobSummary[]
): IRunMark[] {
  const byId = new Map(runs.map(run => [run.id, run]));
  const marks =
    schedule.last_fires.length > 0
      ? schedule.last_fires.map(f => fireMark(f, schedule.timezone, byId))
      : runs.map(run => ({
          key: run.id,
          kind: jobMark(run.state),
          title: `${fireTimeText(run.scheduled_for ?? run.created_at, schedule.timezone)} ${jobMark(run.state)}`,
          jobId: run.id
        }));
  return marks.slice(0, STRIP_LENGTH).reverse();
}

/** When a schedule runs, in words: "every day at 03:00 Europe/Berlin". */
export function whenText(schedule: ISchedule): string {
  const where = schedule.runs_in === 'cloud' ? ', in Google Cloud' : '';
  return `${describeCron(schedule.cron)} ${schedule.timezone}${where}`;
}

/** Its next run: a time, "Paused", or "No more runs". */
export function nextText(schedule: ISchedule): string {
  if (schedule.paused) {
    return 'Paused';
  }
  return schedule.next_fire_at
    ? fireTimeText(schedule.next_fire_at, schedule.timezone)
    : 'No more runs';
}

export function scheduleRow(
  schedule: ISchedule,
  runs: readonly JobSummary[]
): IScheduleRow {
  return {
    id: schedule.id,
    name: schedule.name,
    when: whenText(schedule),
    next: nextText(schedule),
    paused: schedule.paused,
    marks: runMarks(schedule, runs)
  };
}

/** A schedule's runs side by side: a column per parameter, then the metric and cost. */
export interface IRunsTable {
  columns: string[];
  rows: { id: string; when: string; state: JobState; cells: string[] }[];
}

function metricOf(job: IJob): string {
  const best = job.trials?.find(t => t.id === job.best_trial);
  const metric = job.spec.sweep?.metric;
  if (!best || best.metric === null || best.metric === undefined || !metric) {
    return '';
  }
  return `${metric.name} ${best.metric}`;
}

export function runsTable(jobs: readonly IJob[], timezone: string): IRunsTable {
  const names = [
    ...new Set(jobs.flatMap(job => Object.keys(job.spec.parameters ?? {})))
  ].sort();
  const showMetric = jobs.some(job => metricOf(job) !== '');
  const showCost = jobs.some(job => job.cost);
  const columns = [
    ...names,
    ...(showMetric ? ['metric'] : []),
    ...(showCost ? ['cost'] : [])
  ];
  const rows = jobs.map(job => {
    const parameters = job.spec.parameters ?? {};
    const cells = names.map(name =>
      name in parameters ? JSON.stringify(parameters[name]) : ''
    );
    if (showMetric) {
      cells.push(metricOf(job));
    }
    if (showCost) {
      cells.push(job.cost ? `$${job.cost.usd_so_far.toFixed(2)}` : '');
    }
    return {
      id: job.id,
      when: fireTimeText(job.scheduled_for ?? job.created_at, timezone),
      state: job.state,
      cells
    };
  });
  return { columns, rows };
}

/** The server's schedules and their latest runs, fetched on `refresh()`. */
export class SchedulesModel {
  constructor(readonly client: MLPClient) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get rows(): IScheduleRow[] {
    return this._schedules.map(s => scheduleRow(s, this._runs.get(s.id) ?? []));
  }

  get loaded(): boolean {
    return this._loaded;
  }

  get error(): string | null {
    return this._error;
  }

  find(id: string): ISchedule | undefined {
    return this._schedules.find(s => s.id === id);
  }

  async refresh(): Promise<void> {
    try {
      this._schedules = await this.client.listSchedules();
      const runs = await Promise.all(
        this._schedules.map(s =>
          this.client
            .listJobs({ schedule_id: s.id, limit: STRIP_LENGTH })
            .then(page => page.jobs)
            .catch(() => [] as JobSummary[])
        )
      );
      this._runs = new Map(this._schedules.map((s, i) => [s.id, runs[i]]));
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    }
    this._loaded = true;
    this._changed.emit();
  }

  /** Pause or resume a schedule. */
  async setPaused(id: string, paused: boolean): Promise<void> {
    await this.client.updateSchedule(id, { paused });
    await this.refresh();
  }

  /** Run a schedule's job now: the job (null for a cloud schedule). */
  async runNow(id: string): Promise<IJob | null> {
    const job = await this.client.runSchedule(id);
    await this.refresh();
    return job;
  }

  async remove(id: string): Promise<void> {
    await this.client.deleteSchedule(id);
    await this.refresh();
  }

  private _schedules: ISchedule[] = [];
  private _runs = new Map<string, JobSummary[]>();
  private _loaded = false;
  private _error: string | null = null;
  private _changed = new Signal<this, void>(this);
}
