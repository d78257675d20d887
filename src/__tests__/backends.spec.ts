import { ServerConnection } from '@jupyterlab/services';

import { IBackendInfo, IJob, MLPClient } from '../api';
import { ServerBackends } from '../backends';
import { hasTrialJobs } from '../panel/SweepTrials';
import { capabilities } from './fixtures/capabilities';
import { job } from './fixtures/job';

function backend(
  name: string,
  patch: Partial<IBackendInfo> = {}
): IBackendInfo {
  return {
    name,
    available: true,
    configured: true,
    default: false,
    settings: {},
    missing: [],
    outputs: '',
    capabilities: capabilities(),
    ...patch
  };
}

/**
 * A client whose server answers `GET /mlp/backends` with each of `answers` in
 * turn (a status number answers that error); `requests` counts the requests.
 */
function serving(answers: (IBackendInfo[] | number)[]): {
  client: MLPClient;
  requests: () => number;
} {
  let count = 0;
  const fetch = async () => {
    const answer = answers[Math.min(count, answers.length - 1)];
    count += 1;
    return typeof answer === 'number'
      ? new Response(JSON.stringify({ message: 'down' }), { status: answer })
      : new Response(JSON.stringify({ backends: answer }), {
          status: 200,
          headers: { 'Content-Type': 'application/json' }
        });
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    fetch: fetch as typeof window.fetch,
    Request,
    Headers
  });
  return { client: new MLPClient(settings), requests: () => count };
}

describe("the server's backends", () => {
  const drains = capabilities({ drain: true, job_id_label: 'Backend id' });
  const one = [
    backend('here', { capabilities: capabilities({ job_id_label: 'Pid' }) }),
    backend('there', { capabilities: drains })
  ];

  it('know nothing before the first fetch', () => {
    const backends = new ServerBackends(serving([one]).client);
    expect(backends.loaded).toBe(false);
    expect(backends.names).toEqual([]);
    expect(backends.capabilities('there')).toBeNull();
  });

  it('give each backend its capabilities by name once fetched', async () => {
    const backends = new ServerBackends(serving([one]).client);
    let changes = 0;
    backends.changed.connect(() => (changes += 1));

    await backends.load();

    expect(changes).toBe(1);
    expect(backends.names).toEqual(['here', 'there']);
    expect(backends.capabilities('there')).toEqual(drains);
    expect(backends.capabilities('here')?.job_id_label).toBe('Pid');
    expect(backends.capabilities('elsewhere')).toBeNull();
  });

  it('are fetched once however often they are asked for', async () => {
    const { client, requests } = serving([one]);
    const backends = new ServerBackends(client);

    await Promise.all([backends.load(), backends.load()]);
    await backends.load();

    expect(requests()).toBe(1);
  });

  it('are fetched again after a failed fetch, and on demand', async () => {
    const { client, requests } = serving([500, one, [backend('here')]]);
    const backends = new ServerBackends(client);

    await expect(backends.load()).rejects.toThrow();
    expect(backends.loaded).toBe(false);
    await backends.load();
    expect(backends.names).toEqual(['here', 'there']);
    await backends.refresh();

    expect(requests()).toBe(3);
    expect(backends.names).toEqual(['here']);
  });

  it('keep what they knew when a fetch on demand fails', async () => {
    const { client, requests } = serving([one, 500]);
    const backends = new ServerBackends(client);
    await backends.load();

    await expect(backends.refresh()).rejects.toThrow();
    await backends.load();

    expect(requests()).toBe(2);
    expect(backends.capabilities('there')).toEqual(drains);
  });
});

describe("a sweep's trial jobs listed under it", () => {
  const sweep: IJob = job({
    spec: {
      kind: 'train',
      source: { path: 'a.ipynb' },
      sweep: {
        metric: { name: 'score', goal: 'maximize' },
        parameters: [],
        max_trials: 4
      }
    }
  });

  it('are there when its backend runs each trial as a job', () => {
    expect(hasTrialJobs(sweep, capabilities({ sweeps: 'trials' }))).toBe(true);
  });

  it('are not when the backend searches itself, or while that is not known', () => {
    expect(hasTrialJobs(sweep, capabilities({ sweeps: 'native' }))).toBe(false);
    expect(hasTrialJobs(sweep, null)).toBe(false);
  });

  it('are not for a job that is no sweep', () => {
    expect(hasTrialJobs(job({}), capabilities({ sweeps: 'trials' }))).toBe(
      false
    );
  });
});
