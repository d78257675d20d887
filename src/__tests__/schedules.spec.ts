import type { ISchedule, IScheduleFire, MLPClient } from '../api';
import {
  SchedulesModel,
  runMarks,
  runsTable,
  scheduleRow
} from '../panel/schedulesModel';
import { job } from './fixtures/job';

function schedule(fields: Partial<ISchedule> = {}): ISchedule {
  return {
    id: 's1',
    name: 'nightly',
    cron: '0 3 * * *',
    timezone: 'Europe/Berlin',
    spec: { kind: 'train', source: { path: 'train.py' } },
    overlap: 'skip',
    runs_in: 'server',
    paused: false,
    created_at: '2026-12-01T00:00:00Z',
    updated_at: '2026-12-01T00:00:00Z',
    next_fire_at: '2026-12-07T02:00:00Z',
    last_fires: [],
    ...fields
  };
}

function fire(
  fire_at: string,
  outcome: IScheduleFire['outcome'],
  job_id: string | null = null,
  message = ''
): IScheduleFire {
  return {
    schedule_id: 's1',
    fire_at,
    outcome,
    job_id,
    message,
    recorded_at: fire_at
  };
}

describe('a schedule in the list', () => {
  it('says when it runs and its next run in its own time zone', () => {
    const row = scheduleRow(schedule(), []);
    expect(row.when).toBe('every day at 03:00 Europe/Berlin');
    expect(row.next).toBe('Mon 7 Dec 03:00');
    expect(row.marks).toEqual([]);
  });

  it('says paused, and where a cloud schedule runs', () => {
    const row = scheduleRow(schedule({ paused: true, runs_in: 'cloud' }), []);
    expect(row.next).toBe('Paused');
    expect(row.when).toBe('every day at 03:00 Europe/Berlin, in Google Cloud');
  });

  it("strips its last fires oldest first, each started one with its run's state", () => {
    const fires = [
      fire('2026-12-06T02:00:00Z', 'started', 'j3'),
      fire('2026-12-05T02:00:00Z', 'skipped', null, 'the last run still ran'),
      fire('2026-12-04T02:00:00Z', 'started', 'j1'),
      fire('2026-12-03T02:00:00Z', 'failed', null, 'no such file')
    ];
    const runs = [
      job({ id: 'j3', state: 'RUNNING', schedule_id: 's1' }),
      job({ id: 'j1', state: 'FAILED', schedule_id: 's1' })
    ];
    const marks = runMarks(schedule({ last_fires: fires }), runs);
    expect(marks.map(m => m.kind)).toEqual([
      'failed',
      'failed',
      'skipped',
      'running'
    ]);
    expect(marks[2].title).toBe(
      'Sat 5 Dec 03:00 skipped: the last run still ran'
    );
    expect(marks[3].jobId).toBe('j3');
  });

  it("strips a cloud schedule's runs when the server saw no fires", () => {
    const runs = [
      job({
        id: 'j2',
        state: 'SUCCEEDED',
        scheduled_for: '2026-12-06T02:00:00Z'
      }),
      job({
        id: 'j1',
        state: 'CANCELLED',
        scheduled_for: '2026-12-05T02:00:00Z'
      })
    ];
    expect(runMarks(schedule(), runs).map(m => [m.kind, m.jobId])).toEqual([
      ['cancelled', 'j1'],
      ['succeeded', 'j2']
    ]);
  });
});

describe("a schedule's runs side by side", () => {
  it('puts each parameter in a column of its own, blank where a run had none', () => {
    const table = runsTable(
      [
        job({
          id: 'j2',
          state: 'SUCCEEDED',
          scheduled_for: '2026-12-06T02:00:00Z',
          spec: {
            kind: 'train',
            source: { path: 't.py' },
            parameters: { lr: 0.2, layers: 3 }
          }
        }),
        job({
          id: 'j1',
          state: 'FAILED',
          scheduled_for: '2026-12-05T02:00:00Z',
          spec: {
            kind: 'train',
            source: { path: 't.py' },
            parameters: { lr: 0.1 }
          }
        })
      ],
      'UTC'
    );
    expect(table.columns).toEqual(['layers', 'lr']);
    expect(table.rows).toEqual([
      {
        id: 'j2',
        when: 'Sun 6 Dec 02:00',
        state: 'SUCCEEDED',
        cells: ['3', '0.2']
      },
      { id: 'j1', when: 'Sat 5 Dec 02:00', state: 'FAILED', cells: ['', '0.1'] }
    ]);
  });

  it("adds a sweep run's best metric and the cost when any run has them", () => {
    const sweep = job({
      id: 'j1',
      spec: {
        kind: 'train',
        source: { path: 't.py' },
        sweep: { metric: { name: 'accuracy' }, parameters: [] }
      },
      trials: [{ id: '2', state: 'SUCCEEDED', parameters: {}, metric: 0.93 }],
      best_trial: '2',
      cost: {
        usd_per_hour: 1,
        usd_so_far: 1.5,
        prices_as_of: '2026-12-01',
        estimate: true
      }
    });
    const table = runsTable([sweep], 'UTC');
    expect(table.columns).toEqual(['metric', 'cost']);
    expect(table.rows[0].cells).toEqual(['accuracy 0.93', '$1.50']);
  });
});

describe('SchedulesModel', () => {
  it("lists the schedules with each one's latest runs", async () => {
    const listJobs = jest.fn(async (filter: { schedule_id?: string }) => ({
      jobs: [job({ id: `run-of-${filter.schedule_id}`, state: 'SUCCEEDED' })],
      next: null
    }));
    const client = {
      listSchedules: async () => [
        schedule({ id: 's1' }),
        schedule({ id: 's2' })
      ],
      listJobs
    } as unknown as MLPClient;
    const model = new SchedulesModel(client);
    await model.refresh();
    expect(listJobs).toHaveBeenCalledWith({ schedule_id: 's2', limit: 8 });
    expect(model.rows.map(r => r.marks.map(m => m.jobId))).toEqual([
      ['run-of-s1'],
      ['run-of-s2']
    ]);
    expect(model.error).toBeNull();
  });

  it('says why the schedules could not be listed', async () => {
    const client = {
      listSchedules: async () => {
        throw new Error('404 Not Found');
      }
    } as unknown as MLPClient;
    const model = new SchedulesModel(client);
    await model.refresh();
    expect(model.loaded).toBe(true);
    expect(model.error).toBe('404 Not Found');
  });
});
