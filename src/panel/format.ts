/**
 * Pure helpers that turn job fields into short, readable text.
 */
import { IJob } from '../api';

/** Milliseconds as `<1s`, `45s`, `3m 05s`, `2h 04m`, `3d 02h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds === 0) {
    return '<1s';
  }
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (days > 0) {
    return `${days}d ${pad(hours)}h`;
  }
  if (hours > 0) {
    return `${hours}h ${pad(minutes)}m`;
  }
  if (minutes > 0) {
    return `${minutes}m ${pad(secs)}s`;
  }
  return `${secs}s`;
}

/**
 * How long the job has run: until it ended, or until `now` while it runs.
 * Null before it started.
 */
export function jobDurationMs(job: IJob, now: number): number | null {
  if (!job.started_at) {
    return null;
  }
  const start = Date.parse(job.started_at);
  const end = job.ended_at ? Date.parse(job.ended_at) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) {
    return null;
  }
  return end - start;
}

/** The duration column's text: a dash for jobs that never started. */
export function formatJobDuration(job: IJob, now: number): string {
  const ms = jobDurationMs(job, now);
  return ms === null ? '—' : formatDuration(ms);
}

/**
 * A cloud job's cost in a few characters: its total once it ended (`$12.40`),
 * else the estimate so far, ticking while it runs (`≈ $1.25`); null for jobs
 * without one (local jobs).
 */
export function formatJobCost(job: IJob, now: number): string | null {
  if (!job.cost) {
    return null;
  }
  const total = endedTotal(job);
  return total === null
    ? `≈ ${formatUsd(costSoFar(job, now))}`
    : formatUsd(total);
}

/**
 * A cloud job's cost as the detail says it: `$12.40 in 2 h 10 min` once it
 * ended, `≈ $1.20 so far at $0.84/h` while it runs; null without prices.
 */
export function formatCostDetail(job: IJob, now: number): string | null {
  if (!job.cost) {
    return null;
  }
  const total = endedTotal(job);
  if (total !== null) {
    const ran = job.cost.hours ?? (jobDurationMs(job, now) ?? 0) / 3_600_000;
    return `${formatUsd(total)} in ${formatSpokenDuration(ran * 3_600_000)}`;
  }
  return `≈ ${formatUsd(costSoFar(job, now))} so far at ${formatUsd(
    job.cost.usd_per_hour
  )}/h`;
}

/** Dollars and cents; under a cent, enough digits not to read as nothing. */
export function formatUsd(usd: number): string {
  return usd > 0 && usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** Milliseconds as words of a sentence: `2 h 10 min`, `45 min`, `30 s`. */
export function formatSpokenDuration(ms: number): string {
  if (ms < 60_000) {
    return `${Math.floor(Math.max(0, ms) / 1000)} s`;
  }
  // To the nearest minute: hours sent as a fraction need not land on one.
  const minutes = Math.round(ms / 60_000);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) {
    return `${minutes} min`;
  }
  return rest > 0 ? `${hours} h ${rest} min` : `${hours} h`;
}

/** An ended job's total: the server's, or its rate over the time it ran. */
function endedTotal(job: IJob): number | null {
  const cost = job.cost;
  if (!cost || !(cost.ended ?? Boolean(job.ended_at))) {
    return null;
  }
  return cost.usd_total ?? costSoFar(job, Date.parse(job.ended_at ?? ''));
}

/**
 * The estimate so far: a sweep's is the server's sum over its trials; any
 * other job's ticks with the time it has run.
 */
function costSoFar(job: IJob, now: number): number {
  const cost = job.cost!;
  if (job.trials?.length) {
    return cost.usd_so_far;
  }
  return (cost.usd_per_hour * (jobDurationMs(job, now) ?? 0)) / 3_600_000;
}

/**
 * What the cost cap reached, from the state message of a job it cancels (the
 * server's words: "Cancelled by its cost cap: ≈ $0.51 reached the $0.50 cap
 * at 10:42"); null for any other message.
 */
export function costCapReason(
  message: string | null | undefined
): string | null {
  const found = /by its cost cap: (.+?)(?: at \d{1,2}:\d{2})?$/.exec(
    message ?? ''
  );
  return found ? found[1] : null;
}

/** An ISO timestamp in the reader's locale, or a dash. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A job state word as a person would write it: `RUNNING` -> `Running`. */
export function formatState(state: string): string {
  return state.charAt(0) + state.slice(1).toLowerCase();
}

/**
 * A job's accelerators as `2× T4`, `1 GPU` (local, any type), or `CPU`.
 */
export function formatGpu(job: IJob): string {
  const resources = job.spec?.resources ?? {};
  const count = resources.accelerator_count ?? 0;
  if (count <= 0) {
    return 'CPU';
  }
  const type = resources.accelerator_type;
  if (!type) {
    return `${count} GPU`;
  }
  return `${count}× ${type.replace(/^NVIDIA_(TESLA_)?/, '')}`;
}

/** A creation time in a few characters: the time today, else the date. */
export function formatShortTime(iso: string, now: number): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return '';
  }
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) {
    return date.toLocaleTimeString(undefined, {
      hour: '2-digit',
      minute: '2-digit'
    });
  }
  return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/**
 * A path cut after each slash (`a/b/c.log` -> `a/`, `b/`, `c.log`), so a
 * narrow view can wrap it between folders rather than mid-name.
 */
export function pathParts(path: string): string[] {
  return path.match(/[^/]*\/|[^/]+$/g) ?? [path];
}
