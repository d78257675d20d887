import { expect, galata, test } from '@jupyterlab/galata';
import type { Page } from '@playwright/test';

import {
  PANEL_ID,
  confirm,
  openLaunchForm,
  openPanel,
  putFile,
  submitJob
} from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

test.describe('ML jobs panel', () => {
  test('lists a submitted job and follows it to SUCCEEDED', async ({
    page,
    request
  }) => {
    await openPanel(page);
    const panel = page.locator(`#${PANEL_ID}`);

    // Submitted after the panel opened: it must show up without a reload.
    const job = await submitJob(request, 'ui-hello', "print('hello from mlp')");
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toBeVisible({ timeout: 15000 });
    await expect(row.locator('.jp-mlp-JobRow-name')).toHaveText('ui-hello');
    await expect(row.locator('.jp-mlp-JobRow-backend')).toContainText('local');
    await expect(row).toHaveAttribute('data-state', 'SUCCEEDED', {
      timeout: 60000
    });
    await expect(row.locator('.jp-mlp-StateBadge')).toHaveText('Succeeded');
    await expect(row.locator('.jp-mlp-JobRow-duration')).not.toHaveText('—');
    await expect(row.getByRole('button', { name: /^Cancel job/ })).toHaveCount(
      0
    );

    await page.screenshot({ path: test.info().outputPath('panel-list.png') });

    await row
      .getByRole('button', { name: /^ui-hello .*Succeeded local · train/ })
      .click();
    const detail = panel.locator('.jp-mlp-JobDetail');
    await expect(detail.locator('.jp-mlp-JobDetail-title')).toHaveText(
      'ui-hello'
    );
    await expect(detail.locator('.jp-mlp-LogView-text')).toContainText(
      'hello from mlp',
      { timeout: 15000 }
    );
    await expect(detail.locator('.jp-mlp-JobDetail-outputs')).toContainText(
      'Log:'
    );

    await page.screenshot({
      path: test.info().outputPath('panel-detail.png')
    });

    await detail.getByRole('button', { name: 'Back to the job list' }).click();
    await expect(row).toBeVisible();
  });

  test('cancels a running job from its row after confirming', async ({
    page,
    request
  }) => {
    await openPanel(page);
    const panel = page.locator(`#${PANEL_ID}`);

    const job = await submitJob(
      request,
      'ui-sleeper',
      "import time\nprint('sleeping', flush=True)\ntime.sleep(120)"
    );
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'RUNNING', {
      timeout: 30000
    });

    // The duration ticks on its own while the job runs.
    const duration = row.locator('.jp-mlp-JobRow-duration');
    const before = await duration.textContent();
    await expect(duration).not.toHaveText(before ?? '', { timeout: 5000 });

    await row.getByRole('button', { name: 'Cancel job ui-sleeper' }).click();
    // Keeping it running changes nothing; confirming cancels.
    await confirm(page, 'Keep running');
    await expect(row).toHaveAttribute('data-state', 'RUNNING');
    await row.getByRole('button', { name: 'Cancel job ui-sleeper' }).click();
    await confirm(page, 'Cancel job');
    await expect(row).toHaveAttribute('data-state', 'CANCELLED', {
      timeout: 30000
    });
    await expect(row.getByRole('button', { name: /^Cancel job/ })).toHaveCount(
      0
    );
  });

  test('follows the log of a running job in its detail view', async ({
    page,
    request
  }) => {
    await openPanel(page);
    const panel = page.locator(`#${PANEL_ID}`);

    const job = await submitJob(
      request,
      'ui-ticker',
      [
        'import time',
        'for i in range(4):',
        "    print(f'tick {i}', flush=True)",
        '    time.sleep(1.5)'
      ].join('\n')
    );
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'RUNNING', {
      timeout: 30000
    });
    await row.getByRole('button', { name: /^ui-ticker .*Running/ }).click();

    const detail = panel.locator('.jp-mlp-JobDetail');
    const log = detail.locator('.jp-mlp-LogView-text');
    await expect(log).toContainText('tick 0', { timeout: 10000 });
    await expect(log).not.toContainText('tick 3');
    await expect(detail.getByText('Following…')).toBeVisible();

    await expect(log).toContainText('tick 3', { timeout: 20000 });
    await expect(
      detail.locator('.jp-mlp-JobDetail-fields .jp-mlp-StateBadge')
    ).toHaveText('Succeeded', {
      timeout: 15000
    });
    await expect(detail.getByText('Following…')).toHaveCount(0, {
      timeout: 5000
    });
    await expect(
      detail.getByRole('button', { name: 'Rerun job ui-ticker as is' })
    ).toBeVisible();
  });

  test('opens through the mlp:open-panel command', async ({ page }) => {
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('mlp:open-panel');
    });
    await expect(page.locator(`#${PANEL_ID}`)).toBeVisible();
    expect(
      await page.evaluate(() =>
        window.jupyterapp.commands.hasCommand('mlp:cancel-job')
      )
    ).toBe(true);
  });

  test('fits the narrowest sidebar and reads in the dark theme', async ({
    page,
    request
  }) => {
    await page.theme.setDarkTheme();
    await openPanel(page);
    const panel = page.locator(`#${PANEL_ID}`);

    const name = 'a-job-name-long-enough-to-overflow-a-narrow-sidebar-panel';
    const job = await submitJob(request, name, 'import time\ntime.sleep(30)');
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toBeVisible({ timeout: 15000 });

    // The sidebar opens at JupyterLab's minimum width, its narrowest.
    const width = (await panel.boundingBox())!.width;
    expect(width).toBeLessThanOrEqual(260);

    // Nothing scrolls sideways; the long name is cut with an ellipsis and
    // the cancel button stays inside the panel.
    expect(
      await panel.evaluate(el => {
        const list = el.querySelector('.jp-mlp-JobList') as HTMLElement;
        return list.scrollWidth <= list.clientWidth;
      })
    ).toBe(true);
    const cancel = row.getByRole('button', { name: `Cancel job ${name}` });
    await expect(cancel).toBeVisible();
    const panelBox = (await panel.boundingBox())!;
    const cancelBox = (await cancel.boundingBox())!;
    expect(cancelBox.x + cancelBox.width).toBeLessThanOrEqual(
      panelBox.x + panelBox.width
    );

    await page.screenshot({
      path: test.info().outputPath('panel-dark-narrow.png')
    });
    await cancel.click();
    await confirm(page, 'Cancel job');
    await expect(row).toHaveAttribute('data-state', 'CANCELLED', {
      timeout: 30000
    });
  });
});

test.describe('ML jobs panel without polling', () => {
  // A poll every ten minutes: any update seen sooner came from the event bus.
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-mlp:plugin': { pollInterval: 600 }
    }
  });

  test('updates from server events alone', async ({ page, request }) => {
    await openPanel(page);
    const panel = page.locator(`#${PANEL_ID}`);
    // Let the fetch made on opening finish before the job exists.
    await expect(
      panel.locator('.jp-mlp-Empty, .jp-mlp-JobRow').first()
    ).toBeVisible();

    const job = await submitJob(request, 'ui-events', "print('evented')");
    const row = panel.locator(`.jp-mlp-JobRow[data-job-id="${job.id}"]`);
    await expect(row).toHaveAttribute('data-state', 'SUCCEEDED', {
      timeout: 4000
    });
  });
});

test.describe('Notifications of jobs launched here', () => {
  /** Launch a local script from the form; the panel then shows it. */
  async function launch(page: Page, path: string, name: string) {
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill(path);
    await form.getByLabel('Job name').fill(name);
    const submit = form.getByRole('button', { name: 'Submit job' });
    await expect(submit).toBeEnabled({ timeout: 10000 });
    await submit.click();
    await expect(form).toHaveCount(0);
  }

  test('a job that succeeds says so, with a button that opens it', async ({
    page,
    request
  }) => {
    await putFile(request, 'notify_ok.py', "print('fine')\n");
    await launch(page, 'notify_ok.py', 'ui-notify-ok');
    const toast = page.locator('.Toastify__toast', {
      hasText: 'Job ui-notify-ok succeeded.'
    });
    await expect(toast).toBeVisible({ timeout: 60000 });

    const panel = page.locator(`#${PANEL_ID}`);
    await panel.getByRole('button', { name: 'Back to the job list' }).click();
    await toast.getByRole('button', { name: 'Open job' }).click();
    await expect(panel.locator('.jp-mlp-JobDetail-title')).toHaveText(
      'ui-notify-ok'
    );
  });

  test('a job that fails says why, and a job launched elsewhere says nothing', async ({
    page,
    request
  }) => {
    await putFile(request, 'notify_fail.py', "raise ValueError('no data')\n");
    await launch(page, 'notify_fail.py', 'ui-notify-fail');
    // Launched through the API (a magic, the CLI): no notification.
    const other = await submitJob(request, 'ui-notify-other', "print('x')");
    await expect
      .poll(
        async () =>
          (await (await request.get(`/mlp/jobs/${other.id}`)).json()).state,
        { timeout: 60000 }
      )
      .toBe('SUCCEEDED');
    const toast = page.locator('.Toastify__toast', {
      hasText: 'Job ui-notify-fail failed'
    });
    await expect(toast).toBeVisible({ timeout: 60000 });
    await expect(toast).toContainText('failed: exit code 1');
    await page.screenshot({ path: `${SHOTS}/notify-failed.png` });
    await expect(
      page.locator('.Toastify__toast', { hasText: 'ui-notify-other' })
    ).toHaveCount(0);

    const panel = page.locator(`#${PANEL_ID}`);
    await panel.getByRole('button', { name: 'Back to the job list' }).click();
    await toast.getByRole('button', { name: 'Open job' }).click();
    await expect(panel.locator('.jp-mlp-JobDetail-title')).toHaveText(
      'ui-notify-fail'
    );
    await expect(panel.locator('.jp-mlp-Failure')).toBeVisible();
  });
});
