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
 * A cloud job's estimated cost so far (ticking while it runs), e.g. `≈ $1.25`;
 * null for jobs without one (local jobs).
 */
export function formatJobCost(job: IJob, now: number): string | null {
  if (!job.cost) {
    return null;
  }
  const ms = jobDurationMs(job, now) ?? 0;
  const usd = (job.cost.usd_per_hour * ms) / 3_600_000;
  return `≈ $${usd.toFixed(2)}`;
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
