import { expect, test } from '@jupyterlab/galata';
import type { Page, Response } from '@playwright/test';
import * as fs from 'fs';

import {
  contrastRatio,
  openPanel,
  putFile,
  putNotebook,
  submitJob
} from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

/** Every state a job can be in, as the server names them. */
const STATES = [
  'QUEUED',
  'STARTING',
  'RUNNING',
  'CANCELLING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED'
];

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
    const parameters = detail.locator('.jp-mlp-RunParameters');
    await expect(parameters.locator('dt')).toHaveText(['epochs', 'lr']);
    await expect(parameters.locator('dd')).toHaveText(['3', '0.01']);
    await expect(spec).toContainText('Arguments: --fast.');
    const command = detail.getByRole('button', { name: 'Copy as CLI command' });
    await expect(command).toHaveAttribute('title', /spec_job\.py/);
    await expect(command).toHaveAttribute('title', /--fast/);
    await page.screenshot({ path: `${SHOTS}/detail-running-spec.png` });

    // The job ends while shown: the state moves on, the spec stays whole.
    await expect(
      detail.locator('.jp-mlp-JobDetail-fields .jp-mlp-StateBadge')
    ).toHaveText('Succeeded', { timeout: 30000 });
    await expect(parameters.locator('dd')).toHaveText(['3', '0.01']);
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

    // Dragged taller, the box keeps its height for the next job shown.
    await panelLog.scrollIntoViewIfNeeded();
    const box = (await panelLog.boundingBox())!;
    await page.mouse.move(box.x + box.width - 3, box.y + box.height - 3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 3, box.y + box.height + 97, {
      steps: 5
    });
    await page.mouse.up();
    const dragged = await panelLog.evaluate(
      el => el.getBoundingClientRect().height
    );
    expect(dragged).toBeGreaterThan(350);
    await detail.getByRole('button', { name: 'Back to the job list' }).click();
    await row.locator('.jp-mlp-JobRow-main').click();
    await expect
      .poll(() => panelLog.evaluate(el => el.getBoundingClientRect().height))
      .toBe(dragged);

    // The runner's own lines are read on demand.
    const debugRead = page.waitForRequest(
      request =>
        request.url().includes(`/mlp/jobs/${job.id}/logs`) &&
        new URL(request.url()).searchParams.get('debug') === 'true'
    );
    await detail.getByLabel('Show runner lines').check();
    await debugRead;
    await expect(panelLog).toContainText('tick 3');
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
    const ratio = await contrastRatio(row.locator('.jp-mlp-StateBadge'));
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

  test('every state badge reads at 4.5:1 or more, on both themes, hovered or not', async ({
    page
  }) => {
    const panel = await openPanel(page);
    // One badge of each state, drawn by the stylesheet as the list draws them, in a job
    // row of its own on top of the panel (Starting and Cancelling last too short to catch).
    await panel.evaluate((node, states) => {
      const cover = document.createElement('div');
      cover.style.cssText =
        'position: absolute; inset: 0 0 auto 0; z-index: 10; background: var(--jp-layout-color1);';
      const row = document.createElement('div');
      row.className = 'jp-mlp-JobRow jp-mlp-BadgeProbe';
      row.style.cssText =
        'position: relative; height: auto; flex-wrap: wrap; padding: 8px;';
      for (const state of states) {
        const badge = document.createElement('span');
        badge.className = `jp-mlp-StateBadge jp-mlp-StateBadge-${state.toLowerCase()}`;
        badge.textContent = state.charAt(0) + state.slice(1).toLowerCase();
        row.appendChild(badge);
      }
      cover.appendChild(row);
      node.appendChild(cover);
    }, STATES);
    const probe = panel.locator('.jp-mlp-BadgeProbe');
    const ratios: Record<string, number> = {};
    for (const theme of ['light', 'dark']) {
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      }
      for (const hovered of [false, true]) {
        await (hovered ? probe.hover() : page.mouse.move(0, 0));
        for (const state of STATES) {
          const badge = probe.locator(
            `.jp-mlp-StateBadge-${state.toLowerCase()}`
          );
          const where = `${theme}${hovered ? ' hovered' : ''} ${state}`;
          ratios[where] = await contrastRatio(badge);
        }
        await probe.screenshot({
          path: `${SHOTS}/badges-${theme}${hovered ? '-hovered' : ''}.png`
        });
      }
    }
    // The figures, for a person to read (rounded only here).
    fs.writeFileSync(
      test.info().outputPath('contrast.json'),
      JSON.stringify(
        ratios,
        (_, v) => (typeof v === 'number' ? +v.toFixed(2) : v),
        1
      )
    );
    expect(Object.entries(ratios).filter(([, ratio]) => ratio < 4.5)).toEqual(
      []
    );
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
    // The path has the focus, as in a form opened afresh.
    await expect(form.getByLabel('Notebook or script')).toBeFocused();
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
  test('Rerun… of inline code shows its parameters and sends them with the code', async ({
    page,
    request
  }) => {
    const code = "print('params', lr, epochs, name, shuffle, flush=True)";
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-code-rerun',
        source: { code },
        parameters: { lr: 0.01, epochs: 3, name: 'x', shuffle: false }
      }
    });
    expect(response.status(), await response.text()).toBe(201);
    const job = await response.json();
    const panel = await openPanel(page);
    await panel
      .locator(`.jp-mlp-JobRow[data-job-id="${job.id}"] .jp-mlp-JobRow-main`)
      .click();
    await panel.getByRole('button', { name: 'Rerun…' }).click();

    const form = page.locator('.jp-mlp-SubmitForm');
    await expect(form.getByLabel('Code', { exact: true })).toHaveValue(code);
    // A row for each of the job's parameters, typed from its value.
    const table = form.locator('.jp-mlp-Parameters');
    await expect(table.locator('tbody th label')).toHaveText([
      'lr',
      'epochs',
      'name',
      'shuffle'
    ]);
    await expect(table.locator('.jp-mlp-Parameters-type')).toHaveText([
      'float',
      'int',
      'str',
      'bool'
    ]);
    await expect(table.getByLabel('lr')).toHaveValue('0.01');
    await expect(table.getByLabel('epochs')).toHaveValue('3');
    await expect(table.getByLabel('name')).toHaveValue('x');
    await expect(table.getByLabel('shuffle')).not.toBeChecked();
    // The section at the top of the form, above its sticky footer.
    const section = form.locator('h3', { hasText: 'Parameters' });
    await section.evaluate(el => el.scrollIntoView());
    await page.screenshot({ path: `${SHOTS}/rerun-code-form-light.png` });
    await page.theme.setDarkTheme();
    await section.evaluate(el => el.scrollIntoView());
    await page.screenshot({ path: `${SHOTS}/rerun-code-form-dark.png` });
    await page.setViewportSize({ width: 640, height: 720 });
    await section.evaluate(el => el.scrollIntoView());
    await page.screenshot({ path: `${SHOTS}/rerun-code-form-narrow.png` });

    await table.getByLabel('epochs').fill('5');
    const submit = form.getByRole('button', { name: 'Submit job' });
    await expect(submit).toBeEnabled({ timeout: 10000 });
    await submit.click();
    await expect(form).toHaveCount(0);

    const listed = await (
      await request.get('/mlp/jobs?search=ui-code-rerun')
    ).json();
    expect(listed.jobs).toHaveLength(2);
    const rerunId = listed.jobs[0].id;
    const rerun = await (await request.get(`/mlp/jobs/${rerunId}`)).json();
    // Every parameter is sent, the changed one and the others, with the same code.
    expect(rerun.spec.parameters).toEqual({
      lr: 0.01,
      epochs: 5,
      name: 'x',
      shuffle: false
    });
    expect(rerun.spec.source.code).toBe(code);
    expect(rerun.spec.source.path).toBeNull();
    // And the code ran with them.
    await expect
      .poll(
        async () =>
          (await (await request.get(`/mlp/jobs/${rerunId}/logs`)).json()).data,
        { timeout: 30000 }
      )
      .toContain('params 0.01 5 x False');
  });
});

test.describe('Job detail: results, progress and origin', () => {
  test('a job reporting metrics shows their last values and a chart', async ({
    page,
    request
  }) => {
    const code = [
      'import jupyter_mlp',
      'for step in range(1, 6):',
      '    jupyter_mlp.report(step=step, accuracy=0.5 + 0.08 * step, loss=1 / step)'
    ].join('\n');
    const job = await submitJob(request, 'ui-metrics', code);
    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', /SUCCEEDED|FAILED/, {
      timeout: 30000
    });
    await expect(row).toHaveAttribute('data-state', 'SUCCEEDED');
    await row.locator('.jp-mlp-JobRow-main').click();

    const metrics = panel.getByRole('list', { name: 'Metrics' });
    const accuracy = metrics.locator('[data-metric="accuracy"]');
    await expect(accuracy.locator('.jp-mlp-Metric-value')).toHaveText('0.9');
    await expect(accuracy).toContainText('at step 5');
    await expect(
      metrics.locator('[data-metric="loss"] .jp-mlp-Metric-value')
    ).toHaveText('0.2');
    const chart = accuracy.getByRole('img');
    await expect(chart).toHaveAttribute('aria-label', /over 5 steps/);
    // The axis labels keep the UI's font size in the 250 px sidebar.
    const label = accuracy.locator('.jp-mlp-MetricChart-y.jp-mod-max');
    await expect(label).toHaveText('0.9');
    expect(
      await label.evaluate(el => parseFloat(getComputedStyle(el).fontSize))
    ).toBeGreaterThanOrEqual(10);
    await metrics.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/detail-metrics.png` });
    await page.theme.setDarkTheme();
    await metrics.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/detail-metrics-dark.png` });
  });

  test('a running notebook job shows which cell runs, in the list and the detail', async ({
    page,
    request
  }) => {
    await putNotebook(
      request,
      'ui_progress.ipynb',
      'wait_for = ""',
      [
        'import os, time',
        '# runs until the test cancels it',
        'while not os.path.exists(wait_for):',
        '    time.sleep(0.2)'
      ].join('\n')
    );
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-progress',
        source: { path: 'ui_progress.ipynb' },
        parameters: { wait_for: '/nonexistent/ui-progress-never' }
      }
    });
    expect(response.status(), await response.text()).toBe(201);
    const job = await response.json();
    try {
      const panel = await openPanel(page);
      const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
      await expect(row).toHaveAttribute('data-state', 'RUNNING', {
        timeout: 30000
      });
      // Papermill says "Executing Cell" by now; a server that reports progress keeps it out of the log.
      await expect
        .poll(
          async () =>
            (
              await (
                await request.get(`/mlp/jobs/${job.id}/logs?debug=true`)
              ).json()
            ).data,
          { timeout: 30000 }
        )
        .toMatch(/Executing Cell/);
      const plain = await (
        await request.get(`/mlp/jobs/${job.id}/logs`)
      ).json();
      expect(plain.data).not.toMatch(/Executing Cell/);

      await expect(row.locator('.jp-mlp-JobRow-progress')).toHaveText(
        /^cell \d of \d$/,
        { timeout: 30000 }
      );
      await expect(row.getByRole('progressbar')).toBeVisible();
      await row.locator('.jp-mlp-JobRow-main').click();
      const progress = panel.getByLabel('Progress', { exact: true });
      await expect(progress).toContainText('Running cell');
      await expect(progress.locator('.jp-mlp-Progress-source')).toHaveText(
        'import os, time'
      );
      await page.screenshot({ path: `${SHOTS}/detail-progress.png` });
      await page.theme.setDarkTheme();
      await page.screenshot({ path: `${SHOTS}/detail-progress-dark.png` });
      // The runner lines are a toggle away.
      await panel.getByLabel('Show runner lines').check();
      await expect(panel.locator('.jp-mlp-LogView-text')).toContainText(
        'Executing Cell'
      );
    } finally {
      await request.post(`/mlp/jobs/${job.id}/cancel`);
    }
  });

  test('a failed cell job opens the notebook at the cell it came from', async ({
    page,
    request
  }) => {
    const cell = (id: string, source: string) => ({
      id,
      cell_type: 'code',
      metadata: {},
      source,
      outputs: [],
      execution_count: null
    });
    const put = await request.put('/api/contents/ui_origin.ipynb', {
      data: {
        type: 'notebook',
        content: {
          cells: [
            cell('first-cell', 'import os'),
            cell('second-cell', 'x = 1'),
            cell('magic-cell', "%%mlp_train\nraise SystemExit('bad data')")
          ],
          metadata: {
            kernelspec: {
              name: 'python3',
              display_name: 'Python 3',
              language: 'python'
            }
          },
          nbformat: 4,
          nbformat_minor: 5
        }
      }
    });
    expect(put.ok(), await put.text()).toBe(true);
    // The cell moved since it ran: its id finds it, not its old index.
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-origin',
        source: {
          code: "raise SystemExit('bad data')",
          origin: {
            notebook: 'ui_origin.ipynb',
            cell_id: 'magic-cell',
            cell_index: 0
          }
        }
      }
    });
    expect(response.status(), await response.text()).toBe(201);
    const job = await response.json();
    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'FAILED', {
      timeout: 30000
    });
    await row.locator('.jp-mlp-JobRow-main').click();
    const failure = panel.getByRole('alert', { name: 'Why the job failed' });
    await failure.getByRole('button', { name: /^Open cell/ }).click();
    const active = page.locator(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active'
    );
    await expect(active).toContainText("raise SystemExit('bad data')", {
      timeout: 20000
    });
  });

  test('a rerun links to the job it reruns', async ({ page, request }) => {
    const first = await submitJob(request, 'ui-baseline', "print('base')");
    await expect
      .poll(
        async () =>
          (await (await request.get(`/mlp/jobs/${first.id}`)).json()).state,
        { timeout: 30000 }
      )
      .toBe('SUCCEEDED');
    const made = await request.post(`/mlp/jobs/${first.id}/rerun`);
    expect(made.status(), await made.text()).toBe(201);
    const rerun = await made.json();

    const panel = await openPanel(page);
    await panel
      .locator(`.jp-mlp-JobRow[data-job-id="${rerun.id}"] .jp-mlp-JobRow-main`)
      .click();
    const origin = panel.getByRole('list', { name: 'Where the job came from' });
    const link = origin.getByRole('button', {
      name: `Rerun of ui-baseline (${first.id.slice(0, 6)})`
    });
    await expect(link).toBeVisible();
    await link.click();
    await expect(panel.locator('.jp-mlp-JobDetail-mono').first()).toHaveText(
      first.id
    );
  });

  test("a sweep links only outputs that exist, its best trial's first, and a trial links back", async ({
    page,
    request
  }) => {
    test.setTimeout(120_000);
    await putNotebook(
      request,
      'ui_sweep_links.ipynb',
      'lr = 0.1',
      [
        'import hypertune',
        'hypertune.HyperTune().report_hyperparameter_tuning_metric(',
        "    hyperparameter_metric_tag='score', metric_value=-lr, global_step=1",
        ')'
      ].join('\n')
    );
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-sweep-links',
        source: { path: 'ui_sweep_links.ipynb' },
        sweep: {
          metric: { name: 'score', goal: 'maximize' },
          algorithm: 'grid',
          parameters: [{ name: 'lr', type: 'discrete', values: [0.01, 0.1] }],
          max_trials: 2,
          parallel_trials: 2
        }
      }
    });
    expect(response.status(), await response.text()).toBe(201);
    const sweep = await response.json();
    await expect
      .poll(
        async () =>
          (await (await request.get(`/mlp/jobs/${sweep.id}`)).json()).state,
        { timeout: 90000 }
      )
      .toBe('SUCCEEDED');
    const ended = await (await request.get(`/mlp/jobs/${sweep.id}`)).json();
    const best = ended.trials.find(
      (trial: { id: string }) => trial.id === ended.best_trial
    );

    const panel = await openPanel(page);
    await panel
      .locator(`.jp-mlp-JobRow[data-job-id="${sweep.id}"] .jp-mlp-JobRow-main`)
      .click();
    const detail = panel.locator('.jp-mlp-JobDetail');
    const bestOutputs = detail.getByLabel("The best trial's outputs");
    await expect(bestOutputs).toContainText(`Best trial #${best.id}:`);
    await expect(
      bestOutputs.getByRole('button', { name: 'executed notebook' })
    ).toBeVisible();
    // The sweep's own folder holds no model and no executed notebook: no links to them.
    const outputs = detail.getByRole('list', { name: 'Outputs' });
    await expect(outputs).toContainText('Output folder');
    await expect(outputs).not.toContainText('Model directory');
    await expect(outputs).not.toContainText('Executed notebook');
    // Its trials log; the sweep itself shows no empty log box.
    await expect(detail.locator('.jp-mlp-LogView-text')).toHaveCount(0);
    await outputs.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/detail-sweep-outputs.png` });

    // A trial's detail names its sweep and leads back to it.
    await detail.getByTitle(`Open trial ${best.id}'s job`).click();
    const origin = detail.getByRole('list', {
      name: 'Where the job came from'
    });
    const back = origin.getByRole('button', {
      name: `Trial ${best.id} of sweep ui-sweep-links`
    });
    await expect(back).toBeVisible();
    await back.click();
    await expect(bestOutputs).toBeVisible();
  });
});
