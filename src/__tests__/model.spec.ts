import type { Event } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import type { IJob, IJobPage, JobSummary, MLPClient } from '../api';
import { JOB_STATE_SCHEMA, JobsModel, jobToShow } from '../panel/model';

/** A stand-in for the server's event stream: a plain signal. */
class FakeStream extends Signal<unknown, Event.Emission> {
  constructor() {
    super({});
  }
}

function setUp(): {
  model: JobsModel;
  stream: FakeStream;
  listJobs: jest.Mock<Promise<IJobPage>>;
} {
  const listJobs = jest.fn(async (): Promise<IJobPage> => ({
    jobs: [],
    next: null
  }));
  const stream = new FakeStream();
  const model = new JobsModel({
    client: { listJobs } as unknown as MLPClient,
    events: stream as unknown as Event.Stream
  });
  return { model, stream, listJobs };
}

/** Resolves on the model's next `changed` signal. */
function nextChange(model: JobsModel): Promise<void> {
  return new Promise(resolve => {
    const once = () => {
      model.changed.disconnect(once);
      resolve();
    };
    model.changed.connect(once);
  });
}

describe('JobsModel', () => {
  it('fetches the job list when the server announces a job state change', async () => {
    const { model, stream, listJobs } = setUp();
    const changed = nextChange(model);
    stream.emit({
      schema_id: JOB_STATE_SCHEMA,
      job_id: 'j1',
      name: 'demo',
      kind: 'train',
      backend: 'local',
      state: 'RUNNING',
      previous_state: 'STARTING'
    });
    await changed;
    expect(listJobs).toHaveBeenCalledTimes(1);
    model.dispose();
  });

  it('passes the job state event on to its listeners', () => {
    const { model, stream } = setUp();
    const seen: string[] = [];
    model.jobStateChanged.connect((_, event) => seen.push(event.job_id));
    stream.emit({ schema_id: JOB_STATE_SCHEMA, job_id: 'j7' });
    expect(seen).toEqual(['j7']);
    model.dispose();
  });

  it('ignores events of other schemas', async () => {
    const { model, stream, listJobs } = setUp();
    stream.emit({ schema_id: 'https://events.jupyter.org/other/v1' });
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(listJobs).not.toHaveBeenCalled();
    model.dispose();
  });

  it('reports a failed fetch as its error and keeps the last list', async () => {
    const { model, listJobs } = setUp();
    listJobs.mockResolvedValueOnce({
      jobs: [{ id: 'j1' } as IJobPage['jobs'][number]],
      next: null
    });
    await model.refresh();
    listJobs.mockRejectedValueOnce(new Error('server gone'));
    await model.refresh();
    expect(model.error).toBe('server gone');
    expect(model.jobs.map(job => job.id)).toEqual(['j1']);
    model.dispose();
  });

  it('fetches again when asked while a fetch is in flight', async () => {
    const { model, listJobs } = setUp();
    let release: () => void = () => undefined;
    listJobs.mockImplementationOnce(
      () =>
        new Promise<IJobPage>(resolve => {
          release = () => resolve({ jobs: [], next: null });
        })
    );
    const first = model.refresh();
    const second = model.refresh();
    release();
    await Promise.all([first, second]);
    expect(listJobs).toHaveBeenCalledTimes(2);
    model.dispose();
  });

  it('stops listening to the stream once disposed', () => {
    const { model, stream } = setUp();
    const seen: string[] = [];
    model.jobStateChanged.connect((_, event) => seen.push(event.job_id));
    model.dispose();
    stream.emit({ schema_id: JOB_STATE_SCHEMA, job_id: 'j1' });
    expect(seen).toEqual([]);
  });
});

describe('JobsModel pages and filters', () => {
  const job = (id: string, created_at: string) =>
    ({ id, created_at }) as IJobPage['jobs'][number];

  it('appends older pages from the cursor and keeps them on refresh', async () => {
    const listJobs = jest.fn(
      async (filter: { cursor?: string }): Promise<IJobPage> =>
        filter.cursor
          ? { jobs: [job('j1', '2026-01-01')], next: null }
          : {
              jobs: [job('j3', '2026-01-03'), job('j2', '2026-01-02')],
              next: '2'
            }
    );
    const model = new JobsModel({
      client: { listJobs } as unknown as MLPClient,
      pageSize: 2
    });
    await model.refresh();
    expect(model.hasMore).toBe(true);
    await model.loadMore();
    expect(model.jobs.map(j => j.id)).toEqual(['j3', 'j2', 'j1']);
    expect(model.hasMore).toBe(false);
    await model.refresh();
    expect(model.jobs.map(j => j.id)).toEqual(['j3', 'j2', 'j1']);
    model.dispose();
  });

  it('asks the server with the filters and starts over when they change', async () => {
    const listJobs = jest.fn(async (): Promise<IJobPage> => ({
      jobs: [],
      next: null
    }));
    const model = new JobsModel({
      client: { listJobs } as unknown as MLPClient
    });
    model.filter = { state: 'FAILED', name: 'alpha', backend: '' };
    await model.refresh();
    expect(listJobs).toHaveBeenLastCalledWith({
      state: 'FAILED',
      name: 'alpha',
      limit: 100
    });
    expect(model.filtered).toBe(true);
    model.dispose();
  });
});

describe('the job shown in detail', () => {
  /** The whole job, as `GET /mlp/jobs/{id}` answers it. */
  const whole: IJob = {
    id: 'j1',
    name: 'train',
    kind: 'train',
    backend: 'local',
    state: 'RUNNING',
    state_message: 'running',
    spec: {
      kind: 'train',
      source: { path: 'train.py' },
      parameters: { epochs: 5 },
      args: ['--fast'],
      requirements: ['pandas']
    },
    created_at: '2026-11-27T10:00:00Z',
    started_at: '2026-11-27T10:00:01Z',
    outputs: { log: 'jobs/j1/log.txt' },
    transitions: [
      { state: 'QUEUED', at: '2026-11-27T10:00:00Z' },
      { state: 'RUNNING', at: '2026-11-27T10:00:01Z' }
    ]
  };
  /** The same job as `GET /mlp/jobs` lists it, later. */
  const summary = (patch: Partial<JobSummary>): JobSummary => ({
    ...whole,
    spec: { kind: 'train', source: { path: 'train.py' } },
    transitions: [],
    ...patch
  });

  it('shows nothing until the whole job is fetched', () => {
    expect(jobToShow(null, summary({}))).toBeNull();
  });

  it("takes the listed job's live fields when it is further along", () => {
    const listed = summary({
      state: 'SUCCEEDED',
      state_message: 'exit code 0',
      ended_at: '2026-11-27T10:05:00Z',
      outputs: { log: 'jobs/j1/log.txt', folder: 'jobs/j1/outputs' }
    });
    const shown = jobToShow(whole, listed)!;
    expect(shown.state).toBe('SUCCEEDED');
    expect(shown.state_message).toBe('exit code 0');
    expect(shown.ended_at).toBe('2026-11-27T10:05:00Z');
    expect(shown.outputs.folder).toBe('jobs/j1/outputs');
  });

  it("keeps the whole job's spec and timeline, never the summary's", () => {
    const shown = jobToShow(whole, summary({ state: 'SUCCEEDED' }))!;
    expect(shown.spec).toBe(whole.spec);
    expect(shown.spec.parameters).toEqual({ epochs: 5 });
    expect(shown.spec.args).toEqual(['--fast']);
    expect(shown.transitions).toBe(whole.transitions);
  });

  it('keeps the fetched job when the list is behind it', () => {
    const fetched: IJob = { ...whole, state: 'SUCCEEDED' };
    const shown = jobToShow(fetched, summary({ state: 'RUNNING' }))!;
    expect(shown.state).toBe('SUCCEEDED');
  });

  it('keeps the fetched job when the list holds another one', () => {
    const shown = jobToShow(whole, summary({ id: 'j2', state: 'FAILED' }));
    expect(shown).toBe(whole);
  });
});
