import { expect, test } from '@jupyterlab/galata';

import {
  PANEL_ID,
  field,
  openLaunchForm,
  putFile,
  putNotebook
} from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

/** A notebook whose score peaks at lr = 0.05 and falls with depth. */
const BODY = [
  'import hypertune',
  'score = 1 - (lr - 0.05) ** 2 - 0.01 * depth',
  'hypertune.HyperTune().report_hyperparameter_tuning_metric(',
  "    hyperparameter_metric_tag='score', metric_value=score, global_step=1",
  ')',
  'print(score)'
].join('\n');

/** A script trial: `x` from its flags, reported as the metric `score`. */
const GRID_SCRIPT = [
  'import argparse',
  'import hypertune',
  'parser = argparse.ArgumentParser()',
  "parser.add_argument('--x', type=float)",
  'x = parser.parse_args().x',
  'hypertune.HyperTune().report_hyperparameter_tuning_metric(',
  "    hyperparameter_metric_tag='score', metric_value=x, global_step=1",
  ')'
].join('\n');

test.describe('Hyperparameter sweeps', () => {
  test('a small local sweep launched from the form fills its trials table and chart', async ({
    page,
    request
  }) => {
    test.setTimeout(300_000);
    await putNotebook(request, 'sweep_ui.ipynb', 'lr = 0.1\ndepth = 3', BODY);

    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('sweep_ui.ipynb');
    await form.getByLabel('Job name').fill('ui-sweep');
    // The parameters cell is read: its variables appear in the sweep section too.
    const sweep = form.getByRole('region', { name: 'Sweep' });
    await sweep.getByLabel('Run a hyperparameter sweep').check();
    const lrSearch = sweep.getByLabel('Search lr');
    await expect(lrSearch).toBeVisible({ timeout: 15000 });

    // Searching starts from a range around the notebook's value.
    await lrSearch.selectOption('range');
    await expect(sweep.getByLabel('lr from')).toHaveValue('0.01');
    await expect(sweep.getByLabel('lr to')).toHaveValue('1');
    await expect(sweep.getByLabel('lr scale')).toHaveValue('log');
    await sweep.getByLabel('Search depth').selectOption('range');
    await expect(sweep.getByLabel('depth from')).toHaveValue('1');

    // The server's word on a searched parameter lands at its row.
    const submit = form.getByRole('button', { name: 'Submit job' });
    await sweep.getByLabel('depth to').fill('0');
    const depthRow = sweep.locator('tr[data-sweep-parameter="depth"]');
    await expect(depthRow.getByRole('alert')).toContainText(
      'not greater than min',
      { timeout: 10000 }
    );
    await expect(submit).toBeDisabled();
    await sweep.getByLabel('depth to').fill('6');
    await expect(depthRow.getByRole('alert')).toHaveCount(0, {
      timeout: 10000
    });

    await sweep.getByLabel('Metric').fill('score');
    await sweep.getByLabel('Trials', { exact: true }).fill('4');
    await sweep.getByLabel('At once').fill('2');
    await page.screenshot({ path: `${SHOTS}/sweep-form.png` });
    await expect(submit).toBeEnabled({ timeout: 10000 });
    await submit.click();
    await expect(form).toHaveCount(0);

    // The panel shows the new sweep; its trials fill in as they end.
    const panel = page.locator(`#${PANEL_ID}`);
    await expect(panel.locator('.jp-mlp-JobDetail-title')).toHaveText(
      'ui-sweep'
    );
    const trials = panel.getByRole('region', { name: 'Trials' });
    await expect(trials.locator('.jp-mlp-SweepTrials-summary')).toContainText(
      '4/4 trials ended',
      { timeout: 240_000 }
    );
    const rows = trials.locator('tbody tr');
    await expect(rows).toHaveCount(4);
    const metrics = await trials
      .locator('tbody .jp-mlp-SweepTrials-metric')
      .allTextContents();
    expect(metrics.every(text => Number.isFinite(Number(text)))).toBe(true);

    // Best first, marked with a star and in words for screen readers.
    const best = rows.first();
    await expect(best).toHaveClass(/jp-mod-best/);
    await expect(best.locator('th')).toContainText('(best)');
    await expect(trials.locator('tr.jp-mod-best')).toHaveCount(1);
    const sortedDown = metrics.map(Number);
    expect(sortedDown).toEqual([...sortedDown].sort((a, b) => b - a));

    // Clicking the metric's header turns the order round.
    await trials.getByRole('columnheader', { name: 'score' }).click();
    await expect(
      trials.getByRole('columnheader', { name: 'score' })
    ).toHaveAttribute('aria-sort', 'ascending');
    await expect(rows.last()).toHaveClass(/jp-mod-best/);

    // The chart: a point per trial, the best starred; against lr on a log axis.
    const chart = trials.getByRole('img', { name: /score by trial: 4 trials/ });
    await expect(chart).toBeVisible();
    await expect(chart.locator('circle')).toHaveCount(4);
    await expect(chart.locator('.jp-mlp-SweepChart-best')).toHaveCount(1);
    await trials.screenshot({ path: `${SHOTS}/sweep-trials-by-trial.png` });
    await trials.getByLabel('Chart the metric against').selectOption('lr');
    await expect(
      trials.getByRole('img', { name: /score by lr \(log scale\)/ })
    ).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/sweep-detail-light.png` });

    // Dark theme, narrowest sidebar: nothing spills out of the panel.
    await page.theme.setDarkTheme();
    const panelBox = (await panel.boundingBox())!;
    const chartBox = (await trials.getByRole('img').boundingBox())!;
    expect(chartBox.x + chartBox.width).toBeLessThanOrEqual(
      panelBox.x + panelBox.width
    );
    await trials.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/sweep-detail-dark.png` });

    // In the list, the sweep is one row saying so.
    await panel.getByRole('button', { name: 'Back to the job list' }).click();
    const row = panel.locator('.jp-mlp-JobRow', {
      has: page.locator('.jp-mlp-JobRow-name', { hasText: /^ui-sweep$/ })
    });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText('sweep ·');
    await page.screenshot({ path: `${SHOTS}/sweep-list-dark.png` });
  });

  test('a 3-value grid with 10 trials runs 3, and its trials read in the 250 px sidebar', async ({
    page,
    request
  }) => {
    test.setTimeout(120_000);
    await putFile(request, 'grid_ui.py', GRID_SCRIPT);

    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('grid_ui.py');
    await form.getByLabel('Job name').fill('ui-grid');
    const sweep = form.getByRole('region', { name: 'Sweep' });
    await sweep.getByLabel('Run a hyperparameter sweep').check();
    await sweep.getByLabel('Parameter to add').fill('x');
    await sweep.getByRole('button', { name: 'Add parameter' }).click();
    await sweep.getByLabel('Search x').selectOption('values');
    await sweep.getByLabel('x values').fill('1, 2, 3');
    await sweep.getByLabel('Metric').fill('score');
    await sweep.getByLabel('Algorithm').selectOption('grid');
    await sweep.getByLabel('Trials', { exact: true }).fill('10');

    // The grid caps the count, and the form says so (once: not the server's warning too).
    const trialsField = field(form, 'sweep.max_trials');
    await expect(trialsField).toContainText("3 trials: the grid's size");
    const submit = form.getByRole('button', { name: 'Submit job' });
    await expect(submit).toBeEnabled({ timeout: 10000 });
    await expect(trialsField.getByRole('alert')).toHaveCount(0);
    await submit.click();
    await expect(form).toHaveCount(0);

    const panel = page.locator(`#${PANEL_ID}`);
    const trials = panel.getByRole('region', { name: 'Trials' });
    await expect(trials.locator('.jp-mlp-SweepTrials-summary')).toContainText(
      '3/3 trials ended',
      { timeout: 90_000 }
    );
    await expect(trials.locator('tbody tr')).toHaveCount(3);

    // At the sidebar's narrowest: each state a mark by its trial, nothing scrolls sideways.
    expect((await panel.boundingBox())!.width).toBeLessThanOrEqual(260);
    await expect(
      trials.getByRole('columnheader', { name: 'State' })
    ).toBeHidden();
    const marks = trials.locator('tbody .jp-mlp-SweepTrials-mark');
    await expect(marks).toHaveCount(3);
    await expect(marks.first()).toBeVisible();
    await expect(marks.first()).toHaveAttribute('title', /^Succeeded/);
    const scroll = trials.locator('.jp-mlp-SweepTrials-scroll');
    expect(
      await scroll.evaluate(el => el.scrollWidth <= el.clientWidth + 1)
    ).toBe(true);
    // The chart is drawn at its width: tick labels keep a readable size.
    const tick = trials.locator('.jp-mlp-SweepChart-tick').first();
    expect((await tick.boundingBox())!.height).toBeGreaterThanOrEqual(10);
    await trials.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/sweep-grid-sidebar-light.png` });
    await page.theme.setDarkTheme();
    await trials.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/sweep-grid-sidebar-dark.png` });
  });
});
