import type { Event } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import type { IJobPage, MLPClient } from '../api';
import { JOB_STATE_SCHEMA, JobsModel } from '../panel/model';

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
