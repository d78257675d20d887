import { ServerConnection } from '@jupyterlab/services';

import { MLPApiError, MLPClient } from '../api';

interface IRecorded {
  url: string;
  method: string;
  body: unknown;
}

/** A client whose fetch answers `status`/`body` and records each request. */
function clientAnswering(
  status: number,
  body: unknown
): { client: MLPClient; requests: IRecorded[] } {
  const requests: IRecorded[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input as Request;
    const text = init?.body ?? (await request.text?.());
    requests.push({
      url: typeof input === 'string' ? input : request.url,
      method: init?.method ?? request.method,
      body: text ? JSON.parse(String(text)) : undefined
    });
    return new Response(body === null ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json' }
    });
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/base/',
    fetch: fetch as typeof window.fetch,
    Request,
    Headers
  });
  return { client: new MLPClient(settings), requests };
}

describe('MLPClient', () => {
  it('lists jobs under <baseUrl>/mlp/jobs with the given filters', async () => {
    const { client, requests } = clientAnswering(200, { jobs: [], next: null });
    const page = await client.listJobs({ state: 'RUNNING', limit: 20 });
    expect(page).toEqual({ jobs: [], next: null });
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe('/base/mlp/jobs');
    expect(url.searchParams.get('state')).toBe('RUNNING');
    expect(url.searchParams.get('limit')).toBe('20');
  });

  it('leaves unset filters out of the query', async () => {
    const { client, requests } = clientAnswering(200, { jobs: [], next: null });
    await client.listJobs({ backend: undefined });
    expect(new URL(requests[0].url).searchParams.has('backend')).toBe(false);
  });

  it('submits a job as a JSON POST', async () => {
    const { client, requests } = clientAnswering(201, { id: 'abc' });
    const spec = { kind: 'train' as const, source: { code: 'print(1)' } };
    const job = await client.submitJob(spec);
    expect(job.id).toBe('abc');
    expect(requests[0].method).toBe('POST');
    expect(requests[0].body).toEqual(spec);
  });

  it('cancels through POST jobs/{id}/cancel, escaping the id', async () => {
    const { client, requests } = clientAnswering(200, { id: 'a/b' });
    await client.cancelJob('a/b');
    expect(new URL(requests[0].url).pathname).toBe(
      '/base/mlp/jobs/a%2Fb/cancel'
    );
    expect(requests[0].method).toBe('POST');
  });

  it('reads the end of a log with tail', async () => {
    const chunk = {
      data: 'x',
      offset: 9,
      next_offset: 10,
      size: 10,
      complete: true
    };
    const { client, requests } = clientAnswering(200, chunk);
    expect(await client.getLogs('j1', { tail: 1 })).toEqual(chunk);
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe('/base/mlp/jobs/j1/logs');
    expect(url.searchParams.get('tail')).toBe('1');
  });

  it('accepts an empty 204 answer to DELETE', async () => {
    const { client, requests } = clientAnswering(204, null);
    await expect(client.deleteJob('j1')).resolves.toBeUndefined();
    expect(requests[0].method).toBe('DELETE');
  });

  it('raises the server message and field errors on 4xx', async () => {
    const { client } = clientAnswering(422, {
      message: 'Invalid job spec',
      errors: [
        {
          field: 'resources.accelerator_count',
          message: 'must be 1, 2, 4 or 8'
        }
      ]
    });
    const failure = client.submitJob({
      kind: 'train',
      source: { path: 'x.py' }
    });
    await expect(failure).rejects.toBeInstanceOf(MLPApiError);
    await expect(failure).rejects.toMatchObject({
      message: 'Invalid job spec',
      status: 422,
      errors: [
        {
          field: 'resources.accelerator_count',
          message: 'must be 1, 2, 4 or 8'
        }
      ]
    });
  });
});
