import { expect, test } from '@jupyterlab/galata';
import type { Page, Response } from '@playwright/test';

import { openPanel, putFile, putNotebook } from './helpers';

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

  test('reads naturally, takes the focus and opens its log in a tab', async ({
    page,
    request
  }) => {
    const code = [
      'import time',
      'for i in range(4):',
      "    print(f'tick {i}', flush=True)",
      '    time.sleep(1.5)'
    ].join('\n');
    const response = await request.post('/mlp/jobs', {
      data: { kind: 'train', name: 'ui-words', source: { code } }
    });
    expect(response.status(), await response.text()).toBe(201);
    const job = await response.json();

    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'RUNNING', {
      timeout: 30000
    });
    await row.locator('.jp-mlp-JobRow-main').click();
    const detail = panel.locator('.jp-mlp-JobDetail');
    await expect(detail.locator('.jp-mlp-JobDetail-title')).toBeFocused();

    const fields = detail.locator('.jp-mlp-JobDetail-fields');
    const value = (label: string) =>
      fields.locator(`dt:text-is("${label}") + dd`);
    await expect(value('State')).toHaveText('Running');
    await expect(value('Backend')).toHaveText('local');
    await expect(value('Process id')).toHaveText(/^\d+$/);
    await expect(fields.locator('dt:text-is("Backend id")')).toHaveCount(0);

    await detail.getByRole('button', { name: 'Open log' }).click();
    const tab = page.locator(`#jp-mlp-log-${job.id}`);
    await expect(tab).toBeVisible();
    const log = tab.locator('.jp-mlp-LogView-text');
    await expect(log).toContainText('tick 0', { timeout: 15000 });
    await expect(tab.getByText('Following…')).toBeVisible();
    await expect(log).toContainText('tick 3', { timeout: 20000 });
    await expect(tab.getByText('Following…')).toHaveCount(0, {
      timeout: 15000
    });

    // Ended: the state reads as itself, and no timeline entry repeats its state.
    await expect(value('State')).toHaveText('Succeeded', { timeout: 15000 });
    const items = detail.locator('.jp-mlp-Timeline-item');
    for (const item of await items.all()) {
      const state = await item.locator('.jp-mlp-StateBadge').innerText();
      const message = item.locator('.jp-mlp-Timeline-message');
      if (await message.count()) {
        expect((await message.innerText()).toLowerCase()).not.toBe(
          state.toLowerCase()
        );
      }
    }
    // The panel's log is a resizable 300 px box.
    const panelLog = detail.locator('.jp-mlp-LogView-text');
    expect(
      await panelLog.evaluate(el => [
        getComputedStyle(el).resize,
        el.getBoundingClientRect().height
      ])
    ).toEqual(['vertical', 300]);
    await page.screenshot({ path: `${SHOTS}/detail-log-tab.png` });
  });

  test('a failed job says why in the list, readable in the dark theme', async ({
    page,
    request
  }) => {
    await page.theme.setDarkTheme();
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-fails',
        source: { code: "raise SystemExit('no data in /tmp/nowhere')" }
      }
    });
    const job = await response.json();
    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'FAILED', {
      timeout: 30000
    });
    await expect(row.locator('.jp-mlp-JobRow-reason')).toBeVisible();
    // The Failed badge: at least 4.5:1 against the panel's background.
    const ratio = await row.locator('.jp-mlp-StateBadge').evaluate(el => {
      const rgb = (css: string) =>
        (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const luminance = (css: string) => {
        const [r, g, b] = rgb(css).map(v => {
          const c = v / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const panel = el.closest('.jp-mlp-Panel') as HTMLElement;
      const fg = luminance(getComputedStyle(el).color);
      const bg = luminance(getComputedStyle(panel).backgroundColor);
      return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    });
    expect(ratio).toBeGreaterThanOrEqual(4.5);

    // At the narrowest sidebar, the filters do not clip their words.
    const filters = panel.locator('.jp-mlp-Filters select');
    for (const select of await filters.all()) {
      expect(
        await select.evaluate(el => el.scrollWidth <= el.clientWidth + 1)
      ).toBe(true);
    }
    await page.screenshot({ path: `${SHOTS}/panel-failed-dark.png` });
  });

  test("Rerun… opens the launch form with the job's settings", async ({
    page,
    request
  }) => {
    await putNotebook(
      request,
      'rerun.ipynb',
      'lr = 0.1  # learning rate\nepochs = 1',
      'print(lr, epochs)'
    );
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-rerun',
        source: { path: 'rerun.ipynb' },
        parameters: { lr: 0.5 }
      }
    });
    const job = await response.json();
    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await row.locator('.jp-mlp-JobRow-main').click();
    await panel.getByRole('button', { name: 'Rerun…' }).click();

    const form = page.locator('.jp-mlp-SubmitForm');
    await expect(form).toBeVisible();
    await expect(form.getByLabel('Job name')).toHaveValue('ui-rerun');
    await expect(form.getByLabel('Notebook or script')).toHaveValue(
      'rerun.ipynb'
    );
    // The form's first field has the focus.
    await expect(form.locator('input, select, textarea').first()).toBeFocused();
    const lr = form.getByLabel('lr', { exact: true });
    await expect(lr).toHaveValue('0.5', { timeout: 10000 });
    // The parameters cell's comment is on the page, tied to its input.
    const help = form.locator(
      'tr[data-field="parameters.lr"] .jp-mlp-Parameters-help'
    );
    await expect(help).toHaveText('learning rate');
    await expect(lr).toHaveAttribute('aria-describedby', /-help/);
    await page.screenshot({ path: `${SHOTS}/rerun-form.png` });

    await lr.fill('0.7');
    const submit = form.getByRole('button', { name: 'Submit job' });
    await expect(submit).toBeEnabled({ timeout: 10000 });
    await submit.click();
    await expect(form).toHaveCount(0);
    const listed = await (
      await request.get('/mlp/jobs?search=ui-rerun')
    ).json();
    expect(listed.jobs).toHaveLength(2);
    const rerun = await (
      await request.get(`/mlp/jobs/${listed.jobs[0].id}`)
    ).json();
    expect(rerun.spec.parameters).toEqual({ lr: 0.7 });
    expect(rerun.spec.source.path).toBe('rerun.ipynb');
  });
});
