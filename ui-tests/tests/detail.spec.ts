import { expect, test } from '@jupyterlab/galata';
import type { Page, Response } from '@playwright/test';

import { openPanel, putFile } from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

/** One read of a job's log as the page made it, with the server's answer. */
interface ILogRead {
  query: URLSearchParams;
  answer: { cursor: string; next_cursor: string; complete: boolean };
}

/** Record every read of a job's log the page makes. */
function recordLogReads(page: Page, jobId: string): ILogRead[] {
  const reads: ILogRead[] = [];
  page.on('response', async (response: Response) => {
    const url = new URL(response.url());
    if (url.pathname.endsWith(`/mlp/jobs/${jobId}/logs`) && response.ok()) {
      reads.push({ query: url.searchParams, answer: await response.json() });
    }
  });
  return reads;
}

test.describe('Job detail', () => {
  test('follows a running local job through log cursors', async ({
    page,
    request
  }) => {
    // More than the first read's 64 KiB, then a few lines over a few seconds.
    const code = [
      'import time',
      "print('first line of the log', flush=True)",
      'for i in range(1200):',
      "    print(f'filler {i:05d} ' + '.' * 80)",
      'for i in range(4):',
      "    print(f'tick {i}', flush=True)",
      '    time.sleep(1.5)'
    ].join('\n');
    const response = await request.post('/mlp/jobs', {
      data: { kind: 'train', name: 'ui-cursor', source: { code } }
    });
    expect(response.status(), await response.text()).toBe(201);
    const job = await response.json();
    const reads = recordLogReads(page, job.id);

    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'RUNNING', {
      timeout: 30000
    });
    await row.locator('.jp-mlp-JobRow-main').click();

    const detail = panel.locator('.jp-mlp-JobDetail');
    const log = detail.locator('.jp-mlp-LogView-text');
    await expect(log).toContainText('tick 0', { timeout: 15000 });
    await expect(log).not.toContainText('first line of the log');
    await expect(detail.getByText('Following…')).toBeVisible();
    await log.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/log-following.png` });

    await expect(log).toContainText('tick 3', { timeout: 20000 });
    await expect(
      detail.locator('.jp-mlp-JobDetail-fields .jp-mlp-StateBadge')
    ).toHaveText('Succeeded', { timeout: 15000 });
    await expect(detail.getByText('Following…')).toHaveCount(0, {
      timeout: 5000
    });

    // The view reads until the server says the log is complete.
    const followReads = () => reads.filter(read => !read.query.has('offset'));
    await expect
      .poll(() => followReads().at(-1)?.answer.complete, { timeout: 10000 })
      .toBe(true);
    // The first read takes the end; each later one starts where the last ended.
    const follows = followReads();
    expect(follows[0].query.get('tail')).not.toBeNull();
    for (let i = 1; i < follows.length; i++) {
      expect(follows[i].query.get('cursor') ?? '').toBe(
        follows[i - 1].answer.next_cursor
      );
    }
    // About one read a second while the job wrote a line every 1.5 s: no spinning.
    expect(follows.length).toBeLessThan(25);
    // Once complete, reading stops.
    const done = reads.length;
    await page.waitForTimeout(2500);
    expect(reads.length).toBe(done);

    // A local log has byte offsets: its beginning can be brought back.
    const earlier = detail.getByRole('button', { name: 'Load earlier' });
    await expect(earlier).toBeVisible();
    await earlier.click();
    await expect(log).toContainText('first line of the log');
    await expect(earlier).toHaveCount(0);
    await expect(log).toContainText('tick 3');
    await log.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/log-complete.png` });
  });

  test('shows the whole spec of a job opened from the list', async ({
    page,
    request
  }) => {
    await putFile(
      request,
      'spec_job.py',
      "import sys, time\nprint('args', sys.argv[1:], flush=True)\ntime.sleep(4)\n"
    );
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-spec',
        source: { path: 'spec_job.py' },
        parameters: { epochs: 3, lr: 0.01 },
        args: ['--fast']
      }
    });
    expect(response.status(), await response.text()).toBe(201);
    const job = await response.json();

    // The list holds a summary: no parameters, no args, no timeline.
    const page1 = await (await request.get('/mlp/jobs?limit=50')).json();
    const listed = page1.jobs.find((j: { id: string }) => j.id === job.id);
    expect(listed.spec.parameters ?? {}).toEqual({});
    expect(listed.spec.args ?? []).toEqual([]);
    expect(listed.transitions).toEqual([]);

    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'RUNNING', {
      timeout: 30000
    });
    await row.locator('.jp-mlp-JobRow-main').click();

    const detail = panel.locator('.jp-mlp-JobDetail');
    const spec = detail.getByRole('list', { name: 'What the job runs' });
    await expect(spec).toContainText('Runs the script spec_job.py (training).');
    await expect(spec).toContainText('Parameters: epochs = 3, lr = 0.01.');
    await expect(spec).toContainText('Arguments: --fast.');
    const command = detail.getByRole('button', { name: 'Copy as CLI command' });
    await expect(command).toHaveAttribute('title', /spec_job\.py/);
    await expect(command).toHaveAttribute('title', /--fast/);
    await page.screenshot({ path: `${SHOTS}/detail-running-spec.png` });

    // The job ends while shown: the state moves on, the spec stays whole.
    await expect(
      detail.locator('.jp-mlp-JobDetail-fields .jp-mlp-StateBadge')
    ).toHaveText('Succeeded', { timeout: 30000 });
    await expect(spec).toContainText('Parameters: epochs = 3, lr = 0.01.');
    await expect(spec).toContainText('Arguments: --fast.');
    const timeline = detail.getByRole('list', { name: 'State changes' });
    await expect(timeline.locator('.jp-mlp-Timeline-item').last()).toHaveText(
      /Succeeded/
    );
    await expect(timeline.locator('.jp-mlp-Timeline-item')).not.toHaveCount(0);
    await page.screenshot({ path: `${SHOTS}/detail-succeeded-spec.png` });
  });
});
