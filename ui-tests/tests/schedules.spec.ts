import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

import { PANEL_ID, openLaunchForm, openPanel, putFile } from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

test.describe.configure({ mode: 'serial', timeout: 180_000 });

/** A schedule made through the REST API, as the CLI or a magic would. */
async function makeSchedule(
  request: APIRequestContext,
  name: string,
  code: string,
  fields: Record<string, unknown> = {}
): Promise<{ id: string; name: string }> {
  const response = await request.post('/mlp/schedules', {
    data: {
      name,
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      spec: { kind: 'train', name, source: { code } },
      ...fields
    }
  });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}

/** The panel's Schedules tab, opened the way a person does. */
async function openSchedules(page: Page): Promise<Locator> {
  const panel = await openPanel(page);
  await panel.getByRole('tab', { name: 'Schedules' }).click();
  return panel;
}

test.describe('Schedules', () => {
  test('a schedule is made from the launch form with a readable preview', async ({
    page,
    request
  }) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await putFile(request, 'nightly.py', "print('nightly run')\n");
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('nightly.py');
    await form.getByLabel('Job name').fill('ui-nightly');

    await form.getByRole('radio', { name: 'On a schedule' }).check();
    await form.getByLabel('Repeat').selectOption('weekdays');
    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await expect(form.locator('.jp-mlp-ScheduleSection-preview')).toHaveText(
      'weekdays at 03:00 Europe/Berlin'
    );
    await form.getByLabel('Repeat').selectOption('custom');
    await form.getByLabel('Cron expression').fill('30 4 * * 1,5');
    await expect(form.locator('.jp-mlp-ScheduleSection-preview')).toHaveText(
      'every Monday and Friday at 04:30 Europe/Berlin'
    );
    await form.getByLabel('Repeat').selectOption('daily');
    await page.screenshot({ path: `${SHOTS}/schedule-form-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/schedule-form-dark.png` });
    await page.theme.setLightTheme();

    const save = form.getByRole('button', { name: 'Save schedule' });
    await expect(save).toBeEnabled({ timeout: 10_000 });
    await save.click();
    const toast = page.locator('.Toastify__toast', {
      hasText: 'Schedule ui-nightly saved'
    });
    await expect(toast).toContainText(
      /every day at 03:00 Europe\/Berlin, next: \w{3} \d{1,2} \w{3} 03:00/
    );

    const listed = await (await request.get('/mlp/schedules')).json();
    const made = listed.schedules.find(
      (s: { name: string }) => s.name === 'ui-nightly'
    );
    expect(made).toMatchObject({
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
      runs_in: 'server',
      spec: { source: { path: 'nightly.py' } }
    });
    const row = page.locator(
      `#${PANEL_ID} .jp-mlp-ScheduleItem[data-schedule-id="${made.id}"]`
    );
    await expect(row).toContainText('every day at 03:00 Europe/Berlin');
  });

  test('the Schedules view lists a schedule, pauses and resumes it', async ({
    page,
    request
  }) => {
    const made = await makeSchedule(request, 'ui-weekly', "print('weekly')", {
      cron: '0 3 * * 1'
    });
    const panel = await openSchedules(page);
    const row = panel.locator(
      `.jp-mlp-ScheduleItem[data-schedule-id="${made.id}"]`
    );
    await expect(row).toContainText('every Monday at 03:00 Europe/Berlin');
    await expect(row.locator('.jp-mlp-ScheduleItem-next')).toHaveText(
      /^Next: Mon \d{1,2} \w{3} 03:00$/
    );
    await expect(row).toContainText('No runs yet');

    await row.getByRole('button', { name: 'Pause' }).click();
    await expect(row.locator('.jp-mlp-ScheduleItem-next')).toHaveText('Paused');
    const paused = await (
      await request.get(`/mlp/schedules/${made.id}`)
    ).json();
    expect(paused.paused).toBe(true);
    await page.screenshot({ path: `${SHOTS}/schedules-view-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/schedules-view-dark.png` });
    await page.theme.setLightTheme();

    // Keyboard reachable: Resume takes Enter.
    await row.getByRole('button', { name: 'Resume' }).focus();
    await page.keyboard.press('Enter');
    await expect(row.locator('.jp-mlp-ScheduleItem-next')).toHaveText(
      /^Next: /
    );
    const resumed = await (
      await request.get(`/mlp/schedules/${made.id}`)
    ).json();
    expect(resumed.paused).toBe(false);
  });

  test('a failed scheduled run notifies, naming its schedule, and shows in its strip', async ({
    page,
    request
  }) => {
    const made = await makeSchedule(
      request,
      'ui-failing',
      "raise SystemExit('no data for today')",
      { paused: true }
    );
    const panel = await openSchedules(page);
    // Run now from elsewhere (the CLI): this JupyterLab did not launch it.
    const run = await request.post(`/mlp/schedules/${made.id}/run`);
    expect(run.status(), await run.text()).toBe(201);

    const toast = page.locator('.Toastify__toast', {
      hasText: 'Scheduled run of ui-failing failed'
    });
    await expect(toast).toBeVisible({ timeout: 60_000 });
    await page.screenshot({ path: `${SHOTS}/schedule-failed-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/schedule-failed-dark.png` });

    const row = panel.locator(
      `.jp-mlp-ScheduleItem[data-schedule-id="${made.id}"]`
    );
    await expect(row.locator('.jp-mlp-RunMark-failed')).toHaveCount(1, {
      timeout: 15_000
    });
    await row.getByRole('button', { name: 'ui-failing', exact: true }).click();
    const detail = panel.locator('.jp-mlp-ScheduleDetail');
    await expect(detail.locator('.jp-mlp-StateBadge')).toHaveText('Failed');
    await page.screenshot({ path: `${SHOTS}/schedule-detail-dark.png` });
    await page.theme.setLightTheme();
  });
});
