import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext } from '@playwright/test';

import { openPanel, putNotebook } from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

async function submitRun(
  request: APIRequestContext,
  name: string,
  parameters: Record<string, unknown>
): Promise<string> {
  const response = await request.post('/mlp/jobs', {
    data: {
      kind: 'train',
      name,
      source: { path: 'compare.ipynb' },
      parameters
    }
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()).id;
}

test.describe('Comparing runs', () => {
  test('selected runs side by side, the changed parameter highlighted', async ({
    page,
    request
  }) => {
    await putNotebook(
      request,
      'compare.ipynb',
      'lr = 0.01\nepochs = 1',
      'pass'
    );
    await submitRun(request, 'cmp-slow', { lr: 0.01, epochs: 2 });
    await submitRun(request, 'cmp-fast', { lr: 0.05, epochs: 2 });

    const panel = await openPanel(page);
    await panel.getByRole('button', { name: 'Open the jobs table' }).click();
    const table = page.locator('#jupyter-mlp-table');
    await table
      .getByRole('searchbox', { name: 'Search jobs by name' })
      .fill('cmp-');
    await expect(table.locator('tbody tr')).toHaveCount(2);
    const compare = table.getByRole('button', { name: /^Compare/ });
    await expect(compare).toBeDisabled();
    await table.getByRole('checkbox', { name: 'Select all jobs' }).check();
    await table.getByRole('button', { name: 'Compare 2' }).click();

    const view = page.locator('.jp-mlp-CompareWidget');
    await expect(view).toBeVisible();
    const runs = view.locator('thead th');
    await expect(runs).toHaveText([/cmp-fast/, /cmp-slow/]);
    const lr = view.locator('tr[data-row="param:lr"]');
    await expect(lr).toHaveAttribute('data-differs', 'true');
    await expect(lr).toContainText('0.05');
    await expect(lr).toContainText('0.01');
    const epochs = view.locator('tr[data-row="param:epochs"]');
    await expect(epochs).toHaveAttribute('data-differs', 'false');
    await expect(view.locator('tr[data-row="source"]')).toContainText(
      'compare.ipynb'
    );

    await page.screenshot({ path: `${SHOTS}/compare-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/compare-dark.png` });

    // Keyboard only: the filter is a checkbox reached with Tab, toggled with Space.
    const only = view.getByRole('checkbox', { name: 'Only rows that differ' });
    await only.focus();
    await page.keyboard.press('Space');
    await expect(epochs).toHaveCount(0);
    await expect(lr).toBeVisible();

    // A run's name shows it in the panel.
    await view.getByRole('button', { name: 'cmp-slow' }).click();
    await expect(
      page.locator('#jupyter-mlp-panel .jp-mlp-JobDetail-title')
    ).toHaveText('cmp-slow');
  });
});
