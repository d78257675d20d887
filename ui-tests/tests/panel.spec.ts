import { expect, test } from '@jupyterlab/galata';

import { confirm, openPanel, submitJob } from './helpers';

test.describe('ML jobs panel v2', () => {
  test('a failed job shows its error first', async ({ page, request }) => {
    const job = await submitJob(
      request,
      'ui-broken',
      "print('about to fail')\nraise ValueError('the data is missing')"
    );
    const panel = await openPanel(page);
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'FAILED', {
      timeout: 60000
    });
    await row.locator('.jp-mlp-JobRow-main').click();

    const detail = panel.locator('.jp-mlp-JobDetail');
    const failure = detail.locator('.jp-mlp-Failure');
    // Right under the header, before the actions, the spec and the log.
    await expect(
      detail.locator('.jp-mlp-JobDetail-header + .jp-mlp-Failure')
    ).toBeVisible();
    await expect(failure.locator('.jp-mlp-Failure-log')).toContainText(
      'ValueError: the data is missing'
    );
    await expect(detail.locator('.jp-mlp-Timeline')).toContainText('Failed');

    await page.screenshot({
      path: test.info().outputPath('detail-failed-light.png')
    });
    await page.theme.setDarkTheme();
    await page.screenshot({
      path: test.info().outputPath('detail-failed-dark.png')
    });

    // Delete asks first, then the job leaves the list.
    await detail.getByRole('button', { name: 'Delete' }).click();
    await confirm(page, 'Delete');
    await expect(panel.locator('.jp-mlp-JobList')).toBeVisible();
    await expect(row).toHaveCount(0);
  });

  test('filters narrow the list on the server', async ({ page, request }) => {
    const alpha = await submitJob(request, 'alpha-filter-1', 'pass');
    const beta = await submitJob(
      request,
      'beta-filter-1',
      'raise SystemExit(3)'
    );
    const panel = await openPanel(page);
    const rows = panel.locator('.jp-mlp-JobRow');
    const alphaRow = panel.locator(`[data-job-id="${alpha.id}"]`);
    const betaRow = panel.locator(`[data-job-id="${beta.id}"]`);
    await expect(alphaRow).toBeVisible();
    await expect(betaRow).toHaveAttribute('data-state', 'FAILED', {
      timeout: 60000
    });

    await panel.getByLabel('Search jobs by name').fill('alpha-filter');
    await expect(betaRow).toHaveCount(0);
    await expect(alphaRow).toBeVisible();
    await expect(rows).toHaveCount(1);

    await panel.getByLabel('Search jobs by name').fill('');
    await panel.getByLabel('Filter by state').selectOption('FAILED');
    await expect(alphaRow).toHaveCount(0);
    await expect(betaRow).toBeVisible();

    await panel.getByLabel('Search jobs by name').fill('nothing-matches');
    await expect(panel.locator('.jp-mlp-Empty')).toContainText(
      'No jobs match these filters'
    );
    await panel.getByRole('button', { name: 'Clear the filters' }).click();
    await expect(alphaRow).toBeVisible();
    await expect(betaRow).toBeVisible();
  });

  test('copies a job as a magic and as a command line', async ({
    page,
    request
  }) => {
    await page
      .context()
      .grantPermissions(['clipboard-read', 'clipboard-write']);
    const job = await submitJob(request, 'ui-copy', "print('copy me')");
    const panel = await openPanel(page);
    await panel
      .locator(`[data-job-id="${job.id}"] .jp-mlp-JobRow-main`)
      .click();
    const detail = panel.locator('.jp-mlp-JobDetail');
    await detail.getByRole('button', { name: 'Copy as %mlp_train' }).click();
    await expect(detail.locator('.jp-mlp-JobActions-status')).toHaveText(
      'Copied the magic.'
    );
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(
      "%%mlp_train --backend local --name ui-copy\nprint('copy me')"
    );
    // Inline code has no command-line form.
    await expect(
      detail.getByRole('button', { name: 'Copy as CLI command' })
    ).toBeDisabled();
  });
});
