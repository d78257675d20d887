import { ServerConnection } from '@jupyterlab/services';

import { IJob, MLPClient } from '../api';
import {
  canDrain,
  isStreaming,
  progressLines,
  showsProgress
} from '../panel/pipeline';
import { backendForKind } from '../submit/formModel';
import {
  pipelineArgs,
  pipelineFromArgs,
  splitArgs
} from '../submit/pipelineChoice';
import { BACKENDS } from './fixtures/backends';
import { capabilities } from './fixtures/capabilities';

function job(patch: Partial<IJob> & { args?: string[] }): IJob {
  const { args, ...rest } = patch;
  return {
    id: 'abc123',
    name: 'counts',
    kind: 'etl',
    backend: 'dataflow',
    state: 'RUNNING',
    spec: { kind: 'etl', source: { path: 'p.py' }, args: args ?? [] },
    created_at: '2026-11-27T08:00:00Z',
    outputs: {},
    transitions: [],
    ...rest
  };
}

/** A backend that drains pipelines and reports their progress, and one that does neither. */
const PIPELINES = capabilities({ kinds: ['etl'], drain: true, progress: true });
const WITHOUT = capabilities({ kinds: ['etl'] });

/** A client whose fetch answers `body` and records each request's url, method and body. */
function recordingClient(body: unknown): {
  client: MLPClient;
  requests: { url: string; method: string; body: unknown }[];
} {
  const requests: { url: string; method: string; body: unknown }[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input as Request;
    const text = init?.body ?? (await request.text?.());
    requests.push({
      url: typeof input === 'string' ? input : request.url,
      method: init?.method ?? request.method,
      body: text ? JSON.parse(String(text)) : undefined
    });
    return new Response(JSON.stringify(body), {
      status: 200,
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

describe('draining', () => {
  it('is offered for a running streaming pipeline on a backend that drains', () => {
    expect(canDrain(job({ args: ['--streaming'] }), PIPELINES)).toBe(true);
    expect(
      canDrain(job({ args: ['--input', 'x', '--streaming=true'] }), PIPELINES)
    ).toBe(true);
  });

  it('is not offered for a batch pipeline, a backend that does not drain or a job not running', () => {
    expect(canDrain(job({ args: ['--input', 'x'] }), PIPELINES)).toBe(false);
    expect(canDrain(job({ args: ['--streaming'] }), WITHOUT)).toBe(false);
    expect(
      canDrain(job({ args: ['--streaming'], state: 'STARTING' }), PIPELINES)
    ).toBe(false);
    expect(isStreaming(undefined)).toBe(false);
  });

  it("is not offered while the backend's capabilities are not known", () => {
    expect(canDrain(job({ args: ['--streaming'] }), null)).toBe(false);
  });

  it('posts drain to the cancel endpoint', async () => {
    const { client, requests } = recordingClient(job({ state: 'CANCELLING' }));

    await client.drainJob('abc123');

    expect(requests.map(r => new URL(r.url).pathname)).toEqual([
      '/base/mlp/jobs/abc123/cancel'
    ]);
    expect(requests[0].method).toBe('POST');
    expect(requests[0].body).toEqual({ drain: true });
  });
});

describe('progress', () => {
  it('is shown for ETL jobs on a backend that reports progress only', () => {
    expect(showsProgress(job({}), PIPELINES)).toBe(true);
    expect(showsProgress(job({}), WITHOUT)).toBe(false);
    expect(showsProgress(job({ kind: 'train' }), PIPELINES)).toBe(false);
    expect(showsProgress(job({}), null)).toBe(false);
  });

  it('reads the progress endpoint', async () => {
    const { client, requests } = recordingClient({
      job_id: 'abc123',
      steps: [],
      note: ''
    });

    await client.getProgress('abc123');

    expect(new URL(requests[0].url).pathname).toBe(
      '/base/mlp/jobs/abc123/progress'
    );
  });

  it('shows each step with its count in words', () => {
    const lines = progressLines(
      {
        job_id: 'a',
        steps: [
          { step: 'Read.out0', elements: 12000 },
          { step: 'Count.out0', elements: 1 }
        ],
        note: ''
      },
      null
    );

    expect(lines).toEqual({
      steps: [
        { step: 'Read.out0', elements: '12,000 elements' },
        { step: 'Count.out0', elements: '1 element' }
      ],
      note: ''
    });
  });

  it("says the server's note when no step has counted yet, and errors as such", () => {
    expect(
      progressLines({ job_id: 'a', steps: [], note: 'no step yet' }, null).note
    ).toBe('no step yet');
    expect(progressLines(null, 'boom').note).toBe(
      'Progress could not be read: boom'
    );
  });
});

describe('pipeline options in the launch form', () => {
  it('split like a shell line', () => {
    expect(
      splitArgs(`--input 'my words.txt' --label "a \\"b\\"" --x=1  `)
    ).toEqual(['--input', 'my words.txt', '--label', 'a "b"', '--x=1']);
  });

  it('send --streaming once, first, when the box is ticked', () => {
    expect(
      pipelineArgs({ streaming: true, options: '--streaming --input in.txt' })
    ).toEqual(['--streaming', '--input', 'in.txt']);
    expect(pipelineArgs({ streaming: false, options: '' })).toEqual([]);
  });

  it("come back from a job's args unchanged (rerun)", () => {
    const args = ['--streaming', '--input', 'my words.txt'];

    const choice = pipelineFromArgs(args);

    expect(choice).toEqual({
      streaming: true,
      options: "--input 'my words.txt'"
    });
    expect(pipelineArgs(choice)).toEqual(args);
  });

  it('offer Dataflow for ETL and Vertex for training when installed', () => {
    const installed = BACKENDS;
    expect(backendForKind('etl', 'vertex', installed)).toBe('dataflow');
    expect(backendForKind('train', 'dataflow', installed)).toBe('vertex');
    expect(backendForKind('etl', 'local', installed)).toBe('local');
    // Without Dataflow, no cloud service runs pipelines: the choice stays.
    expect(backendForKind('etl', 'vertex', BACKENDS.slice(0, 2))).toBe(
      'vertex'
    );
  });
});
