import { expect, test } from '@jupyterlab/galata';

import { openLaunchForm, openPanel, submitJob } from './helpers';

test.describe('Daily use', () => {
  test('the jobs table and a log tab come back after a page reload', async ({
    page,
    request
  }) => {
    const job = await submitJob(
      request,
      'ui-restore',
      "print('a line to find again')"
    );
    const panel = await openPanel(page);
    await panel.getByRole('button', { name: 'Open the jobs table' }).click();
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'SUCCEEDED', {
      timeout: 60000
    });
    await row.locator('.jp-mlp-JobRow-main').click();
    // JupyterLab saves the workspace a moment after the layout changes: reload once it has.
    const saved = page.waitForRequest(
      r =>
        r.method() === 'PUT' &&
        r.url().includes('/lab/api/workspaces/') &&
        (r.postData() ?? '').includes(`jupyter-mlp-log:${job.id}`)
    );
    await panel.getByRole('button', { name: 'Open log' }).click();
    const tabs = page.locator('#jp-main-dock-panel .lm-TabBar-tab');
    await expect(tabs.filter({ hasText: 'Log: ui-restore' })).toHaveCount(1);
    await expect(tabs.filter({ hasText: /^ML Jobs$/ })).toHaveCount(1);

    await saved;
    // Galata's reload would wait for the Launcher, which the restored tabs stand in for.
    await page.reload({ waitForIsReady: false });

    await expect(tabs.filter({ hasText: 'Log: ui-restore' })).toHaveCount(1, {
      timeout: 30000
    });
    await expect(tabs.filter({ hasText: /^ML Jobs$/ })).toHaveCount(1);
    await tabs.filter({ hasText: 'Log: ui-restore' }).click();
    await expect(page.locator(`#jp-mlp-log-${job.id}`)).toContainText(
      'a line to find again',
      { timeout: 15000 }
    );
    await tabs.filter({ hasText: /^ML Jobs$/ }).click();
    await expect(page.locator('#jupyter-mlp-table')).toContainText(
      'ui-restore'
    );
  });

  test('the form says there is no GPU once, and keeps server details folded', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    await expect(form.getByText('No GPU on this machine')).toHaveCount(1);
    await expect(form).not.toContainText('NVML');
    const details = form.locator('.jp-mlp-BackendSettings');
    await expect(details.locator('summary')).toHaveText('Server details');
    await expect(details.getByRole('list')).toBeHidden();
    await details.locator('summary').click();
    await expect(details.getByRole('list')).toContainText('python');
  });
});
