import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

import { confirm, openPanel, putNotebook, submitJob } from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

/** Submit the notebook with these parameters; resolves to the job's id. */
async function submitRun(
  request: APIRequestContext,
  name: string,
  parameters: Record<string, unknown>,
  path = 'sweep.ipynb'
): Promise<string> {
  const response = await request.post('/mlp/jobs', {
    data: { kind: 'train', name, source: { path }, parameters }
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()).id;
}

/** Open the table from the panel's button. */
async function openTable(page: Page): Promise<Locator> {
  const panel = await openPanel(page);
  await panel.getByRole('button', { name: 'Open the jobs table' }).click();
  const table = page.locator('#jupyter-mlp-table');
  await expect(table).toBeVisible();
  return table;
}

/** The names in the table's rows, top to bottom. */
function rowNames(table: Locator): Promise<string[]> {
  return table.locator('tbody .jp-mlp-Table-name').allInnerTexts();
}

test.describe('Jobs table', () => {
  test('compares runs by their parameters, sorted by any column', async ({
    page,
    request
  }) => {
    await putNotebook(request, 'sweep.ipynb', 'lr = 0.1\nepochs = 1', 'pass');
    await submitRun(request, 'run-a', { lr: 0.1, epochs: 3 });
    await submitRun(request, 'run-b', { lr: 0.02, epochs: 1 });
    await submitRun(request, 'run-c', { lr: 0.3, epochs: 2 });

    const table = await openTable(page);
    // Other tests' jobs share the server: show only these runs.
    await table
      .getByRole('searchbox', { name: 'Search jobs by name' })
      .fill('run-');
    const lr = table.getByRole('columnheader', { name: 'lr' });
    await expect(lr).toBeVisible();
    const row = table.locator('tbody tr', { hasText: 'run-b' });
    await expect(row).toContainText('0.02');

    // Newest first, as the panel lists them.
    await expect
      .poll(() => rowNames(table))
      .toEqual(['run-c', 'run-b', 'run-a']);

    await lr.getByRole('button').click();
    await expect(lr).toHaveAttribute('aria-sort', 'ascending');
    await expect
      .poll(() => rowNames(table))
      .toEqual(['run-b', 'run-a', 'run-c']);

    await lr.getByRole('button').click();
    await expect(lr).toHaveAttribute('aria-sort', 'descending');
    await expect
      .poll(() => rowNames(table))
      .toEqual(['run-c', 'run-a', 'run-b']);

    const name = table.getByRole('columnheader', { name: 'Name' });
    await name.getByRole('button').click();
    await expect
      .poll(() => rowNames(table))
      .toEqual(['run-a', 'run-b', 'run-c']);

    await page.screenshot({ path: `${SHOTS}/table-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/table-dark.png` });

    // A name opens the job in the panel's detail.
    await table.getByRole('button', { name: 'run-b' }).click();
    const panel = page.locator('#jupyter-mlp-panel');
    await expect(panel.locator('.jp-mlp-JobDetail-title')).toHaveText('run-b');
  });

  test('cancels and deletes the selected jobs after one confirmation', async ({
    page,
    request
  }) => {
    const quick = await submitJob(request, 'bulk-quick', "print('done')");

    // The palette's command opens the same table.
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('mlp:open-table');
    });
    const table = page.locator('#jupyter-mlp-table');
    await expect(table).toBeVisible();
    await table
      .getByRole('searchbox', { name: 'Search jobs by name' })
      .fill('bulk-');
    const rowOf = (id: string) => table.locator(`tr[data-job-id="${id}"]`);
    await expect(rowOf(quick.id)).toHaveAttribute('data-state', 'SUCCEEDED', {
      timeout: 30000
    });
    // Queued or running, both can be cancelled.
    const slow = [
      await submitJob(request, 'bulk-slow-1', 'import time\ntime.sleep(120)'),
      await submitJob(request, 'bulk-slow-2', 'import time\ntime.sleep(120)')
    ];
    await expect(table.locator('tbody tr')).toHaveCount(3);

    for (const job of slow) {
      await table.getByRole('checkbox', { name: `Select ${job.name}` }).check();
    }
    await expect(table.getByText('2 of 3 selected')).toBeVisible();
    await table.getByRole('button', { name: 'Cancel 2' }).click();
    await expect(page.locator('.jp-Dialog')).toContainText('bulk-slow-1');
    await expect(page.locator('.jp-Dialog')).toContainText('bulk-slow-2');
    await confirm(page, 'Cancel jobs');
    for (const job of slow) {
      await expect(rowOf(job.id)).toHaveAttribute('data-state', 'CANCELLED', {
        timeout: 30000
      });
    }

    // Select all: all three have ended, so all three can be deleted.
    await table.getByRole('checkbox', { name: 'Select all jobs' }).check();
    await expect(table.getByRole('button', { name: 'Cancel' })).toBeDisabled();
    await table.getByRole('button', { name: 'Delete 3' }).click();
    await confirm(page, 'Delete jobs');
    await expect(table.locator('tbody tr')).toHaveCount(0);
    await expect(table.getByText('No jobs match these filters.')).toBeVisible();
    const listed = await request.get('/mlp/jobs?search=bulk-');
    expect((await listed.json()).jobs).toEqual([]);
  });

  test('shows a parameter left at its default, marked, and sorts it as a value', async ({
    page,
    request
  }) => {
    await putNotebook(
      request,
      'defaults.ipynb',
      'lr = 0.01\nepochs = 1',
      'pass'
    );
    await submitRun(request, 'dflt-fast', { lr: 0.05 }, 'defaults.ipynb');
    await submitRun(request, 'dflt-base', { epochs: 2 }, 'defaults.ipynb');

    const table = await openTable(page);
    await table
      .getByRole('searchbox', { name: 'Search jobs by name' })
      .fill('dflt-');
    await expect(table.locator('tbody tr')).toHaveCount(2);
    const lr = table.getByRole('columnheader', { name: 'lr' });
    await expect(lr).toBeVisible();
    const base = table.locator('tbody tr', { hasText: 'dflt-base' });
    const marked = base.locator('td[data-default="true"]');
    await expect(marked).toHaveText('0.01');
    await expect(marked).toHaveAttribute('title', 'default');
    // The given 0.05 is not marked; the other run's epochs is its default, 1.
    const fast = table.locator('tbody tr', { hasText: 'dflt-fast' });
    await expect(fast.locator('td[data-default="true"]')).toHaveText('1');

    await lr.getByRole('button').click();
    await expect
      .poll(() => rowNames(table))
      .toEqual(['dflt-base', 'dflt-fast']);
  });

  test('filters by source, each source keeping its own parameter columns', async ({
    page,
    request
  }) => {
    await putNotebook(request, 'src-steps.ipynb', 'steps = 1', 'pass');
    await putNotebook(request, 'src-epochs.ipynb', 'epochs = 1', 'pass');
    await submitRun(request, 'src-one', { steps: 5 }, 'src-steps.ipynb');
    await submitRun(request, 'src-two', { epochs: 3 }, 'src-epochs.ipynb');

    const table = await openTable(page);
    await table
      .getByRole('searchbox', { name: 'Search jobs by name' })
      .fill('src-');
    const steps = table.getByRole('columnheader', { name: 'steps' });
    const epochs = table.getByRole('columnheader', { name: 'epochs' });
    await expect(steps).toBeVisible();
    await expect(epochs).toBeVisible();
    await expect(
      table.locator('tbody tr', { hasText: 'src-one' })
    ).toContainText('src-steps.ipynb');

    const filter = table.getByRole('combobox', { name: 'Filter by source' });
    await filter.selectOption('src-steps.ipynb');
    await expect.poll(() => rowNames(table)).toEqual(['src-one']);
    await expect(steps).toBeVisible();
    await expect(epochs).toHaveCount(0);

    await filter.selectOption('');
    await expect.poll(() => rowNames(table)).toEqual(['src-two', 'src-one']);
  });

  test("shows each metric's last value as a sortable column", async ({
    page,
    request
  }) => {
    // Reported through `jupyter_mlp.report` (the metrics helper's contract).
    const report = (values: number[]) =>
      [
        'import jupyter_mlp',
        ...values.map(
          (value, step) => `jupyter_mlp.report(step=${step}, accuracy=${value})`
        )
      ].join('\n');
    const low = await submitJob(request, 'metric-low', report([0.5, 0.81]));
    const high = await submitJob(request, 'metric-high', report([0.6, 0.93]));

    const table = await openTable(page);
    await table
      .getByRole('searchbox', { name: 'Search jobs by name' })
      .fill('metric-');
    for (const job of [low, high]) {
      await expect(
        table.locator(`tr[data-job-id="${job.id}"]`)
      ).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 30000 });
    }
    const accuracy = table.getByRole('columnheader', { name: 'accuracy' });
    await expect(accuracy).toBeVisible();
    await expect(
      table.locator('tbody tr', { hasText: 'metric-high' })
    ).toContainText('0.93');

    await accuracy.getByRole('button').click();
    await expect
      .poll(() => rowNames(table))
      .toEqual(['metric-low', 'metric-high']);
    await accuracy.getByRole('button').click();
    await expect
      .poll(() => rowNames(table))
      .toEqual(['metric-high', 'metric-low']);

    await page.screenshot({ path: `${SHOTS}/table-metrics-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/table-metrics-dark.png` });
  });

  test('names the job a rerun came from, and shows it on a click', async ({
    page,
    request
  }) => {
    await putNotebook(request, 'rerun.ipynb', 'lr = 0.01', 'pass');
    const base = await submitRun(
      request,
      'rr-base',
      { lr: 0.1 },
      'rerun.ipynb'
    );
    // The params helper's contract: `?rerun_of=` records the origin.
    const response = await request.post(`/mlp/jobs?rerun_of=${base}`, {
      data: {
        kind: 'train',
        name: 'rr-again',
        source: { path: 'rerun.ipynb' },
        parameters: { lr: 0.2 }
      }
    });
    expect(response.status(), await response.text()).toBe(201);

    const table = await openTable(page);
    await table
      .getByRole('searchbox', { name: 'Search jobs by name' })
      .fill('rr-');
    const origin = table
      .locator('tbody tr', { hasText: 'rr-again' })
      .locator('.jp-mlp-Table-rerun');
    await expect(origin).toHaveText(`rr-base (${base.slice(0, 6)})`);
    await origin.getByRole('button').click();
    await expect(
      page.locator('#jupyter-mlp-panel .jp-mlp-JobDetail-title')
    ).toHaveText('rr-base');
  });
});
