import {
  cronOf,
  describeCron,
  fireTimeText,
  fromSchedule,
  previewText,
  runNow,
  runsInChoice,
  saveSchedule,
  scheduleRequest
} from '../submit/scheduleChoice';
import { MLPApiError } from '../api';
import type { IJobSubmission, ISchedule, MLPClient } from '../api';
import { capabilities } from './fixtures/capabilities';

const SPEC: IJobSubmission = {
  kind: 'train',
  name: 'nightly',
  source: { path: 'work/train.ipynb' },
  parameters: { lr: 0.1 }
};

describe('the schedule preview', () => {
  it('reads the presets and common crons in words', () => {
    expect(describeCron('0 3 * * *')).toBe('every day at 03:00');
    expect(describeCron('0 3 * * 1-5')).toBe('weekdays at 03:00');
    expect(describeCron('30 6 * * 1,5')).toBe(
      'every Monday and Friday at 06:30'
    );
    expect(describeCron('15 * * * *')).toBe('every hour at :15');
    expect(describeCron('*/10 * * * *')).toBe('every 10 minutes');
    expect(describeCron('0 4 1 * *')).toBe('on day 1 of every month at 04:00');
    expect(describeCron('@daily')).toBe('every day at 00:00');
  });

  it('shows an expression it has no words for as itself', () => {
    expect(describeCron('0 3 * 1-6 *')).toBe('cron "0 3 * 1-6 *"');
    expect(describeCron('0 3-5 * * *')).toBe('cron "0 3-5 * * *"');
  });

  it("says when and where, and the next run in the schedule's zone once known", () => {
    expect(previewText('0 3 * * *', 'Europe/Berlin')).toBe(
      'every day at 03:00 Europe/Berlin'
    );
    // 02:00 UTC is 03:00 in Berlin in winter.
    expect(
      previewText('0 3 * * *', 'Europe/Berlin', '2026-12-07T02:00:00Z')
    ).toBe('every day at 03:00 Europe/Berlin, next: Mon 7 Dec 03:00');
  });

  it('writes fire times in summer time too', () => {
    expect(fireTimeText('2026-07-06T01:00:00Z', 'Europe/Berlin')).toBe(
      'Mon 6 Jul 03:00'
    );
  });

  it('asks for a cron when a custom one is empty', () => {
    expect(previewText('  ', 'UTC')).toMatch(/Give a cron expression/);
  });
});

describe('the schedule request', () => {
  it("posts the form's spec with the preset's cron, the zone and the overlap", () => {
    const choice = { ...runNow('Europe/Berlin'), when: 'schedule' as const };
    expect(
      scheduleRequest(
        { ...choice, preset: 'weekdays', overlap: 'queue' },
        SPEC,
        capabilities()
      )
    ).toEqual({
      name: 'nightly',
      cron: '0 3 * * 1-5',
      timezone: 'Europe/Berlin',
      spec: SPEC,
      overlap: 'queue',
      runs_in: 'server'
    });
  });

  it('posts a custom cron as typed, trimmed', () => {
    const choice = {
      ...runNow('UTC'),
      preset: 'custom' as const,
      customCron: ' 5 4 * * 0 '
    };
    expect(cronOf(choice)).toBe('5 4 * * 0');
  });

  it('runs in Google Cloud only where the backend can, and then allows overlaps', () => {
    const choice = { ...runNow('UTC'), runsIn: 'cloud' as const };
    const cloud = capabilities({ remote: true, cloud_schedules: true });
    expect(scheduleRequest(choice, SPEC, cloud)).toMatchObject({
      runs_in: 'cloud',
      overlap: 'allow'
    });
    const server = capabilities({ remote: true, service: 'Dataflow' });
    expect(scheduleRequest(choice, SPEC, server)).toMatchObject({
      runs_in: 'server',
      overlap: 'skip'
    });
  });

  it('says a cloud backend without cloud schedules runs them in this server', () => {
    expect(
      runsInChoice(capabilities({ remote: true, service: 'Dataflow' }))
    ).toEqual({
      offered: false,
      note: 'Dataflow schedules run in this server for now.'
    });
    expect(runsInChoice(capabilities())).toEqual({
      offered: false,
      note: null
    });
    expect(
      runsInChoice(capabilities({ remote: true, cloud_schedules: true }))
        .offered
    ).toBe(true);
  });

  it('edits a stored schedule from its preset, or as a custom cron', () => {
    const stored = {
      cron: '0 3 * * 1',
      timezone: 'Asia/Tokyo',
      overlap: 'allow',
      runs_in: 'cloud'
    } as ISchedule;
    expect(fromSchedule(stored)).toMatchObject({
      when: 'schedule',
      preset: 'weekly',
      timezone: 'Asia/Tokyo',
      runsIn: 'cloud'
    });
    expect(fromSchedule({ ...stored, cron: '7 7 * * *' })).toMatchObject({
      preset: 'custom',
      customCron: '7 7 * * *'
    });
  });
});

describe('saving a schedule', () => {
  it("puts the server's spec errors next to the form's fields", async () => {
    const refusal = new MLPApiError('invalid', 400, [
      { field: 'spec.resources.machine_type', message: 'unknown machine' },
      { field: 'cron', message: 'not a cron expression' }
    ]);
    const client = {
      createSchedule: async () => {
        throw refusal;
      }
    } as unknown as MLPClient;
    const saving = saveSchedule(client, {
      choice: runNow('UTC'),
      spec: SPEC,
      capabilities: capabilities()
    });
    await expect(saving).rejects.toMatchObject({
      status: 400,
      errors: [
        { field: 'resources.machine_type', message: 'unknown machine' },
        { field: 'cron', message: 'not a cron expression' }
      ]
    });
  });

  it('changes the schedule being edited, keeping where it runs', async () => {
    const updateSchedule = jest.fn(async () => ({}) as ISchedule);
    const client = { updateSchedule } as unknown as MLPClient;
    await saveSchedule(client, {
      choice: { ...runNow('UTC'), when: 'schedule', preset: 'hourly' },
      spec: SPEC,
      capabilities: capabilities(),
      editing: { id: 's9' } as ISchedule
    });
    expect(updateSchedule).toHaveBeenCalledWith('s9', {
      name: 'nightly',
      cron: '0 * * * *',
      timezone: 'UTC',
      spec: SPEC,
      overlap: 'skip'
    });
  });
});
