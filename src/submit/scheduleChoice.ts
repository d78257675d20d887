/**
 * "Run now / On a schedule" as data: the cron presets, the time zone, the
 * overlap and who fires it, the readable preview, and the body of
 * `POST /mlp/schedules`. Next fire times are the server's (`next_fire_at`):
 * cron is read there, by a maintained library, never here.
 */
import { MLPApiError } from '../api';
import type {
  IBackendCapabilities,
  IJobSubmission,
  ISchedule,
  IScheduleRequest,
  MLPClient,
  ScheduleOverlap,
  ScheduleRunsIn
} from '../api';

export type CronPreset = 'hourly' | 'daily' | 'weekdays' | 'weekly' | 'custom';

/** The presets offered, in order, with the cron each stands for. */
export const CRON_PRESETS: { id: CronPreset; label: string; cron: string }[] = [
  { id: 'hourly', label: 'Every hour', cron: '0 * * * *' },
  { id: 'daily', label: 'Every day at 03:00', cron: '0 3 * * *' },
  { id: 'weekdays', label: 'Weekdays at 03:00', cron: '0 3 * * 1-5' },
  { id: 'weekly', label: 'Mondays at 03:00', cron: '0 3 * * 1' },
  { id: 'custom', label: 'Custom (cron)…', cron: '' }
];

export const OVERLAP_CHOICES: { id: ScheduleOverlap; label: string }[] = [
  { id: 'skip', label: 'Skip the run (recorded as skipped)' },
  { id: 'queue', label: 'Queue it until the last one ends' },
  { id: 'allow', label: 'Run both' }
];

/** The form's schedule choice. */
export interface IScheduleChoice {
  when: 'now' | 'schedule';
  preset: CronPreset;
  /** The cron of a custom schedule (five fields or @daily...). */
  customCron: string;
  timezone: string;
  overlap: ScheduleOverlap;
  runsIn: ScheduleRunsIn;
}

/** The IANA time zone of this browser ('UTC' when it cannot tell). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The time zones this browser knows, for the time zone field's suggestions. */
export function knownTimeZones(): string[] {
  const intl = Intl as unknown as {
    supportedValuesOf?: (key: string) => string[];
  };
  return intl.supportedValuesOf?.('timeZone') ?? ['UTC'];
}

/** Run now, and a daily run at 03:00 in the browser's zone once "On a schedule" is picked. */
export function runNow(timezone: string = browserTimeZone()): IScheduleChoice {
  return {
    when: 'now',
    preset: 'daily',
    customCron: '',
    timezone,
    overlap: 'skip',
    runsIn: 'server'
  };
}

/** A stored schedule's choice (to edit it). */
export function fromSchedule(schedule: ISchedule): IScheduleChoice {
  const preset = CRON_PRESETS.find(
    p => p.id !== 'custom' && p.cron === schedule.cron
  );
  return {
    when: 'schedule',
    preset: preset?.id ?? 'custom',
    customCron: preset ? '' : schedule.cron,
    timezone: schedule.timezone,
    overlap: schedule.overlap,
    runsIn: schedule.runs_in
  };
}

/** The cron the choice stands for. */
export function cronOf(choice: IScheduleChoice): string {
  if (choice.preset === 'custom') {
    return choice.customCron.trim();
  }
  return CRON_PRESETS.find(p => p.id === choice.preset)?.cron ?? '';
}

/**
 * Whether the backend's schedules can run in its cloud, and otherwise what
 * to say about a cloud backend's (they run in this server for now).
 */
export function runsInChoice(capabilities: IBackendCapabilities | undefined): {
  offered: boolean;
  note: string | null;
} {
  if (capabilities?.cloud_schedules) {
    return { offered: true, note: null };
  }
  const note = capabilities?.remote
    ? `${capabilities.service} schedules run in this server for now.`
    : null;
  return { offered: false, note };
}

/** The body of `POST /mlp/schedules`: the form's spec run at the chosen times. */
export function scheduleRequest(
  choice: IScheduleChoice,
  spec: IJobSubmission,
  capabilities: IBackendCapabilities | undefined
): IScheduleRequest {
  const inCloud =
    choice.runsIn === 'cloud' && runsInChoice(capabilities).offered;
  return {
    ...(spec.name ? { name: spec.name } : {}),
    cron: cronOf(choice),
    timezone: choice.timezone.trim() || browserTimeZone(),
    spec,
    // Cloud Scheduler cannot see whether the last run still runs.
    overlap: inCloud ? 'allow' : choice.overlap,
    runs_in: inCloud ? 'cloud' : 'server'
  };
}

/**
 * The server's refusal of a schedule with its `spec.` errors named as the
 * form names its fields, so each lands next to its input.
 */
export function asFormErrors(error: unknown): unknown {
  if (!(error instanceof MLPApiError)) {
    return error;
  }
  const errors = error.errors.map(e => ({
    ...e,
    field: e.field.replace(/^spec\./, '')
  }));
  return new MLPApiError(error.message, error.status, errors);
}

/**
 * Create the schedule, or change the one being edited (where it runs stays
 * as it was made); a refusal's errors are named as the form's fields.
 */
export async function saveSchedule(
  client: MLPClient,
  request: {
    choice: IScheduleChoice;
    spec: IJobSubmission;
    capabilities: IBackendCapabilities | undefined;
    editing?: ISchedule;
  }
): Promise<ISchedule> {
  const { choice, spec, capabilities, editing } = request;
  const body = scheduleRequest(choice, spec, capabilities);
  const { name, cron, timezone, overlap } = body;
  try {
    return await (editing
      ? client.updateSchedule(editing.id, {
          name,
          cron,
          timezone,
          spec,
          overlap
        })
      : client.createSchedule(body));
  } catch (error) {
    throw asFormErrors(error);
  }
}

const DAYS = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday'
];
const NUMBER = /^\d{1,2}$/;

function clock(hour: string, minute: string): string {
  return `${hour.padStart(2, '0')}:${minute.padStart(2, '0')}`;
}

/** The day-of-week field in words ("weekdays", "Monday and Friday"), or null. */
function daysText(field: string): string | null {
  if (field === '1-5') {
    return 'weekdays';
  }
  const days = field.split(',');
  if (!days.every(d => NUMBER.test(d) && Number(d) <= 7)) {
    return null;
  }
  const names = days.map(d => DAYS[Number(d) % 7]);
  const list =
    names.length > 1
      ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
      : names[0];
  return `every ${list}`;
}

/**
 * A cron expression in words for the common shapes ("every day at 03:00",
 * "weekdays at 03:00", "every hour at :15"); any other shape as itself.
 */
export function describeCron(cron: string): string {
  const fields = cron.trim().split(/\s+/);
  const alias: Record<string, string> = {
    '@hourly': 'every hour',
    '@daily': 'every day at 00:00',
    '@midnight': 'every day at 00:00',
    '@weekly': 'every Sunday at 00:00',
    '@monthly': 'on day 1 of every month at 00:00'
  };
  if (fields.length === 1 && alias[fields[0].toLowerCase()]) {
    return alias[fields[0].toLowerCase()];
  }
  if (fields.length !== 5) {
    return `cron "${cron.trim()}"`;
  }
  const [minute, hour, day, month, weekday] = fields;
  const everyMonth = month === '*';
  if (fields.every(f => f === '*')) {
    return 'every minute';
  }
  const step = /^\*\/(\d+)$/.exec(minute);
  if (step && [hour, day, month, weekday].every(f => f === '*')) {
    return `every ${step[1]} minutes`;
  }
  if (!NUMBER.test(minute) || !everyMonth) {
    return `cron "${fields.join(' ')}"`;
  }
  if (hour === '*' && day === '*' && weekday === '*') {
    return minute === '0'
      ? 'every hour'
      : `every hour at :${minute.padStart(2, '0')}`;
  }
  if (!NUMBER.test(hour)) {
    return `cron "${fields.join(' ')}"`;
  }
  const at = clock(hour, minute);
  if (day === '*' && weekday === '*') {
    return `every day at ${at}`;
  }
  const days = day === '*' ? daysText(weekday) : null;
  if (days) {
    return `${days} at ${at}`;
  }
  if (NUMBER.test(day) && weekday === '*') {
    return `on day ${day} of every month at ${at}`;
  }
  return `cron "${fields.join(' ')}"`;
}

/** A moment as a schedule shows it, in its time zone: "Mon 7 Dec 03:00". */
export function fireTimeText(iso: string, timezone: string): string {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) {
    return iso;
  }
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-GB', {
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZone: timezone
    }).formatToParts(moment);
  } catch {
    return moment.toISOString();
  }
  const part = (type: string) => parts.find(p => p.type === type)?.value ?? '';
  return `${part('weekday')} ${part('day')} ${part('month')} ${part('hour')}:${part('minute')}`;
}

/**
 * The preview under the schedule: "every day at 03:00 Europe/Berlin, next:
 * Mon 7 Dec 03:00" (the next fire once the server has said it).
 */
export function previewText(
  cron: string,
  timezone: string,
  nextFireAt?: string | null
): string {
  if (!cron.trim()) {
    return 'Give a cron expression, e.g. 0 3 * * * for 03:00 every day.';
  }
  const when = `${describeCron(cron)} ${timezone}`;
  return nextFireAt
    ? `${when}, next: ${fireTimeText(nextFireAt, timezone)}`
    : when;
}
