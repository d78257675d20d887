import * as React from 'react';

import type { ILogChunk, MLPClient } from '../api';
import { FOLLOW_INTERVAL_MS, LogView, nextReadDelay } from '../panel/LogView';

/** A chunk of a local log: byte offsets as cursors. */
function local(from: number, to: number, size: number): ILogChunk {
  return {
    data: 'x'.repeat(to - from),
    cursor: String(from),
    next_cursor: String(to),
    complete: false,
    offset: from,
    next_offset: to,
    size
  };
}

describe('following a log', () => {
  it('stops once the log is complete', () => {
    expect(nextReadDelay({ ...local(0, 10, 10), complete: true })).toBeNull();
  });

  it('reads on at once while a local log has more bytes waiting', () => {
    expect(nextReadDelay(local(0, 10, 500))).toBe(0);
  });

  it('waits once a local log is read to its end', () => {
    expect(nextReadDelay(local(0, 10, 10))).toBe(FOLLOW_INTERVAL_MS);
  });

  it('waits when a read brought nothing new, even with bytes waiting', () => {
    // Half a UTF-8 character at the end: the server keeps it for the next read.
    expect(nextReadDelay({ ...local(10, 10, 11), data: '' })).toBe(
      FOLLOW_INTERVAL_MS
    );
  });

  it('waits between reads of a cloud log, which has no byte offsets', () => {
    const cloud: ILogChunk = {
      data: 'line\n',
      cursor: 'abc',
      next_cursor: 'abd',
      complete: false
    };
    expect(nextReadDelay(cloud)).toBe(FOLLOW_INTERVAL_MS);
  });

  it('keeps following a log that cannot be read yet, without spinning', () => {
    const failing: ILogChunk = {
      data: '',
      cursor: '',
      next_cursor: '',
      complete: false,
      error: 'Cloud Logging answered 403: permission denied'
    };
    expect(nextReadDelay(failing)).toBe(FOLLOW_INTERVAL_MS);
  });
});

/** React's own renderer (the project has no types for react-dom). */
const { createRoot } = jest.requireActual<{
  createRoot(node: Element): { render(element: React.ReactElement): void };
}>('react-dom/client');

describe('the log pane', () => {
  /** Render a LogView whose client answers `chunk` to every read; resolves once `ready` is true of it. */
  async function render(
    chunk: ILogChunk,
    ready: (host: HTMLElement) => boolean
  ): Promise<HTMLElement> {
    const client = {
      getLogs: jest.fn(async () => chunk)
    } as unknown as MLPClient;
    const host = document.createElement('div');
    document.body.appendChild(host);
    createRoot(host).render(
      React.createElement(LogView, { client, jobId: 'j1', live: false })
    );
    for (let i = 0; i < 100 && !ready(host); i++) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    return host;
  }

  it("says why the server cannot read a job's log", async () => {
    const alert = (host: HTMLElement) => host.querySelector('[role="alert"]');
    const host = await render(
      {
        data: '',
        cursor: '0',
        next_cursor: '0',
        complete: true,
        error:
          "the log cannot be read: it links out of the job's folder; not followed",
        offset: 0,
        next_offset: 0,
        size: 0
      },
      node => alert(node) !== null
    );
    expect(alert(host)?.textContent).toBe(
      "The log cannot be read: it links out of the job's folder; not followed"
    );
  });

  it('shows what the server notes of a cloud log it reads more slowly, with the log', async () => {
    const note =
      'Cloud Logging is limiting reads (429 RESOURCE_EXHAUSTED): next read in 7 s';
    const host = await render(
      {
        data: 'epoch 1\n',
        cursor: 'a',
        next_cursor: 'b',
        complete: false,
        note
      },
      node => node.textContent?.includes('next read in') ?? false
    );
    expect(host.textContent).toContain('epoch 1');
    expect(host.textContent).toContain(note);
    expect(host.querySelector('[role="alert"]')).toBeNull();
  });

  it('offers earlier text only for a log with byte offsets', async () => {
    const end = { data: 'the end\n', complete: true };
    const shown = (node: HTMLElement) =>
      node.textContent?.includes('the end') ?? false;
    const local = await render(
      {
        ...end,
        cursor: '100',
        next_cursor: '108',
        offset: 100,
        next_offset: 108,
        size: 108
      },
      shown
    );
    expect(local.textContent).toContain('Load earlier');
    const cloud = await render(
      { ...end, cursor: 'a', next_cursor: 'b' },
      shown
    );
    expect(cloud.textContent).toContain('the end');
    expect(cloud.textContent).not.toContain('Load earlier');
  });
});
