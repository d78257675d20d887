import { ServerConnection } from '@jupyterlab/services';

import { MLPApiError, MLPClient, isBlocking } from '../api';

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
      cursor: '9',
      next_cursor: '10',
      complete: true,
      offset: 9,
      next_offset: 10,
      size: 10
    };
    const { client, requests } = clientAnswering(200, chunk);
    expect(await client.getLogs('j1', { tail: 1 })).toEqual(chunk);
    const url = new URL(requests[0].url);
    expect(url.pathname).toBe('/base/mlp/jobs/j1/logs');
    expect(url.searchParams.get('tail')).toBe('1');
  });

  it('reads on from an opaque cursor, passed back as given', async () => {
    const cursor = 'eyJhZnRlciI6IjIwMjYtMTEtMjdUMTA6MDA6MDBaIn0';
    const { client, requests } = clientAnswering(200, {
      data: 'line\n',
      cursor,
      next_cursor: 'next+/=',
      complete: false
    });
    const chunk = await client.getLogs('j1', { cursor, limit: 4096 });
    expect(chunk.next_cursor).toBe('next+/=');
    expect(chunk.offset).toBeUndefined();
    const url = new URL(requests[0].url);
    expect(url.searchParams.get('cursor')).toBe(cursor);
    expect(url.searchParams.get('limit')).toBe('4096');
    expect(url.searchParams.has('offset')).toBe(false);
  });

  it('reads from the start when the cursor is empty', async () => {
    const { client, requests } = clientAnswering(200, {
      data: '',
      cursor: '',
      next_cursor: '',
      complete: false
    });
    await client.getLogs('j1', { cursor: '', limit: 10 });
    const url = new URL(requests[0].url);
    expect(url.searchParams.has('cursor')).toBe(false);
    expect(url.searchParams.get('limit')).toBe('10');
  });

  it('reads a byte range of a log that has byte offsets', async () => {
    const { client, requests } = clientAnswering(200, {
      data: 'abc',
      cursor: '100',
      next_cursor: '103',
      complete: false,
      offset: 100,
      next_offset: 103,
      size: 500
    });
    await client.getLogs('j1', { offset: 100, limit: 3 });
    const url = new URL(requests[0].url);
    expect(url.searchParams.get('offset')).toBe('100');
    expect(url.searchParams.get('limit')).toBe('3');
  });

  it('lists backends with their server settings and what they miss', async () => {
    const vertex = {
      name: 'vertex',
      available: true,
      configured: false,
      reason: 'not configured: set the Cloud Storage bucket',
      default: false,
      settings: { project: 'p1', location: 'us-central1' },
      missing: [
        {
          setting: 'VertexBackend.staging_bucket',
          message: 'set the Cloud Storage bucket'
        }
      ]
    };
    const { client, requests } = clientAnswering(200, { backends: [vertex] });
    expect(await client.listBackends()).toEqual([vertex]);
    expect(new URL(requests[0].url).pathname).toBe('/base/mlp/backends');
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

describe('field problems', () => {
  it('tells errors from warnings by severity', () => {
    expect(isBlocking({ field: 'f', message: 'm' })).toBe(true);
    expect(isBlocking({ field: 'f', message: 'm', severity: 'error' })).toBe(
      true
    );
    expect(isBlocking({ field: 'f', message: 'm', severity: 'warning' })).toBe(
      false
    );
  });
});
