/**
 * The launch form's Advanced section against the Vertex AI stand-in (a server
 * of its own, MLP_UI_CLOUD=1, as in cloud.spec.ts): the options a person
 * sets, the alternatives to try when there is no capacity, the review that
 * lists every setting not at its default, and Rerun… keeping them all.
 */
import { expect, test as galataTest } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';

import {
  PANEL_ID,
  field,
  openLaunchForm,
  openPanel,
  putFile,
  startServer
} from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
const test = galataTest.extend<{}, { cloudServer: string }>({
  cloudServer: [
    async ({ browser }, use) => {
      const server = await startServer({ MLP_UI_CLOUD: '1' });
      const warmUp = await browser.newPage();
      await warmUp.goto(`${server.url}/lab`);
      await warmUp
        .locator('#jupyterlab-splash')
        .waitFor({ state: 'detached', timeout: 120_000 });
      await warmUp.close();
      await use(server.url);
      await server.stop();
    },
    { scope: 'worker', timeout: 240_000 }
  ],
  baseURL: async ({ cloudServer }, use) => use(cloudServer),
  // eslint-disable-next-line no-empty-pattern
  waitForApplication: async ({}, use) => {
    await use(async page => {
      await page
        .locator('#jupyterlab-splash')
        .waitFor({ state: 'detached', timeout: 120_000 });
      await page
        .locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current', {
          hasText: 'Launcher'
        })
        .waitFor({ timeout: 90_000 });
    });
  }
});

test.describe.configure({ mode: 'serial', timeout: 180_000 });

/** Open the review of the cloud job the form holds. */
async function review(form: Locator): Promise<Locator> {
  const button = form.getByRole('button', { name: 'Review and submit…' });
  await expect(button).toBeEnabled({ timeout: 15000 });
  await button.click();
  const summary = form.locator('.jp-mlp-Review');
  await expect(summary).toContainText('Launch on Vertex AI?');
  return summary;
}

/** The whole job the form just launched (its detail is open in the panel). */
async function launchedSpec(page: Page, form: Locator) {
  await expect(form).toHaveCount(0, { timeout: 15000 });
  const detail = page.locator(`#${PANEL_ID} .jp-mlp-JobDetail`);
  await expect(detail).toBeVisible();
  const id = await detail
    .locator('dt', { hasText: /^Job id$/ })
    .locator('xpath=following-sibling::dd[1]')
    .innerText();
  const response = await page.request.get(`/mlp/jobs/${id.trim()}`);
  return (await response.json()).spec;
}

test.describe('The Advanced section', () => {
  test.beforeEach(async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 1000 });
  });

  test('sets Vertex AI options and alternatives, and the review lists them', async ({
    page,
    request
  }) => {
    await putFile(request, 'adv.py', "print('training')\n");
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('adv.py');
    await form.getByLabel('Job name').fill('ui-advanced');
    await form.getByLabel('Backend').selectOption('vertex');
    await form.getByLabel('Machine type').selectOption('n1-standard-8');

    // Closed for a new job; opened from the keyboard.
    const advanced = form.locator('.jp-mlp-Advanced');
    const timeout = advanced.getByLabel('Timeout', { exact: true });
    await expect(timeout).toBeHidden();
    await advanced.locator('summary').focus();
    await page.keyboard.press('Enter');
    await expect(timeout).toBeVisible();
    // Vertex AI's options only: no Dataflow subnetwork.
    await expect(field(form, 'dataflow.subnetwork')).toHaveCount(0);
    await expect(field(form, 'scheduling.max_cost_usd')).toContainText(
      'The cap acts on the estimate: billing lags, and a cancel takes a little while to stop the machines.'
    );

    await timeout.fill('90');
    await advanced.getByLabel('Timeout: unit').selectOption('minutes');
    await field(form, 'scheduling.strategy')
      .locator('select')
      .selectOption('spot');
    await advanced.getByLabel('Restarts after preemption').fill('5');
    await field(form, 'resources.boot_disk_type')
      .locator('select')
      .selectOption('pd-ssd');
    // The server's word on a field shows at the field.
    const disk = advanced.getByLabel('Disk size (GB)');
    await disk.fill('lots');
    await expect(
      field(form, 'resources.boot_disk_size_gb').getByRole('alert')
    ).toContainText(/integer/, { timeout: 15000 });
    await expect(disk).toHaveAttribute('aria-invalid', 'true');
    await disk.fill('200');
    await advanced.getByLabel('Cost cap (USD)').fill('20');
    await advanced.getByRole('button', { name: 'Add a label' }).click();
    await advanced.getByLabel('Label 1 key').fill('team');
    await advanced.getByLabel('Label 1 value').fill('ux');

    // Two alternatives, the second moved first.
    await advanced.getByRole('button', { name: '+ Another region' }).click();
    await advanced.getByRole('button', { name: '+ On demand' }).click();
    const rows = advanced.locator('.jp-mlp-Fallbacks-row');
    await expect(rows).toHaveCount(2);
    const region = await rows.nth(0).getByLabel('Region').inputValue();
    expect(region).not.toBe('');
    await advanced
      .getByRole('button', { name: 'Move alternative 2 up' })
      .click();
    await expect(
      rows
        .nth(0)
        .locator('[data-field="scheduling.fallbacks[0].strategy"] select')
    ).toHaveValue('standard');
    await expect(rows.nth(1).getByLabel('Region')).toHaveValue(region);
    await advanced.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/advanced-form-light.png` });
    await page.theme.setDarkTheme();
    await advanced.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/advanced-form-dark.png` });
    await page.theme.setLightTheme();

    const summary = await review(form);
    const settings = summary.getByLabel('Settings');
    for (const text of [
      'Timeout1 h 30 min',
      'CapacitySpot',
      'Restarts after preemption5',
      'Boot disk typepd-ssd',
      'Boot disk size200 GB',
      'Cost cap$20.00',
      'Labelsteam=ux',
      `If no capacity, try1. On demand; 2. region ${region}`
    ]) {
      await expect(settings).toContainText(text);
    }
    await summary.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/advanced-review.png` });
    await summary.getByRole('button', { name: 'Confirm and submit' }).click();

    const spec = await launchedSpec(page, form);
    expect(spec.scheduling).toMatchObject({
      timeout_seconds: 5400,
      strategy: 'spot',
      spot: true,
      max_preemptions: 5,
      max_cost_usd: 20,
      fallbacks: [
        { strategy: 'standard', region: null },
        { region, strategy: null }
      ]
    });
    expect(spec.resources).toMatchObject({
      boot_disk_type: 'pd-ssd',
      boot_disk_size_gb: 200
    });
    expect(spec.labels).toEqual({ team: 'ux' });
  });

  test('Rerun… of a job with options keeps them, and the detail shows them', async ({
    page,
    request
  }) => {
    await putFile(request, 'again.py', "print('again')\n");
    const created = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        backend: 'vertex',
        name: 'ui-options',
        source: { path: 'again.py' },
        resources: { machine_type: 'n1-standard-8' },
        labels: { team: 'ux' },
        scheduling: { spot: true, timeout_seconds: 3600 }
      }
    });
    expect(created.status(), await created.text()).toBe(201);
    const job = await created.json();

    const panel = await openPanel(page);
    const width = (await panel.boundingBox())!.width;
    expect(width).toBeLessThanOrEqual(260);
    await panel
      .locator(`.jp-mlp-JobRow[data-job-id="${job.id}"] .jp-mlp-JobRow-main`)
      .click();
    const settings = panel.getByLabel('Settings');
    await expect(settings).toContainText('Timeout1 h');
    await expect(settings).toContainText('CapacitySpot');
    await expect(settings).toContainText('Labelsteam=ux');
    // Nothing spills sideways at the sidebar's narrowest.
    const box = (await settings.boundingBox())!;
    const panelBox = (await panel.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(panelBox.x + panelBox.width);
    await page.screenshot({ path: `${SHOTS}/advanced-detail-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/advanced-detail-dark.png` });
    await page.theme.setLightTheme();

    await panel.getByRole('button', { name: 'Rerun…' }).click();
    const form = page.locator('.jp-mlp-SubmitForm');
    await expect(form).toBeVisible();
    // The rerun's spec sets options: the section is open, holding them.
    const advanced = form.locator('.jp-mlp-Advanced');
    await expect(advanced.getByLabel('Timeout', { exact: true })).toHaveValue(
      '1'
    );
    await expect(advanced.getByLabel('Timeout: unit')).toHaveValue('hours');
    await expect(
      field(form, 'scheduling.strategy').locator('select')
    ).toHaveValue('spot');
    await expect(advanced.getByLabel('Label 1 key')).toHaveValue('team');

    const summary = await review(form);
    await expect(summary.getByLabel('Settings')).toContainText('CapacitySpot');
    await summary.getByRole('button', { name: 'Confirm and submit' }).click();
    const spec = await launchedSpec(page, form);
    expect(spec.scheduling).toMatchObject({
      strategy: 'spot',
      spot: true,
      timeout_seconds: 3600
    });
    expect(spec.labels).toEqual({ team: 'ux' });
  });

  test("shows Dataflow's own options for a pipeline, and none of Vertex AI's", async ({
    page,
    request
  }) => {
    await putFile(request, 'flow.py', 'print(1)\n');
    await page.theme.setDarkTheme();
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('flow.py');
    await form.getByLabel('Kind').selectOption('etl');
    await form.getByLabel('Backend').selectOption('dataflow');
    const advanced = form.locator('.jp-mlp-Advanced');
    await advanced.locator('summary').click();
    await expect(advanced.getByLabel('Subnetwork')).toBeVisible();
    await advanced.getByLabel('No public IPs for the workers').check();
    await advanced
      .getByLabel('FlexRS: later, on cheaper workers (batch)')
      .check();
    for (const hidden of [
      'scheduling.strategy',
      'scheduling.reservation',
      'tensorboard',
      'network'
    ]) {
      await expect(field(form, hidden)).toHaveCount(0);
    }
    await expect(advanced.locator('.jp-mlp-Fallbacks')).toHaveCount(0);
    await advanced.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/advanced-dataflow-dark.png` });
    const summary = form.locator('.jp-mlp-Review');
    await form.getByRole('button', { name: 'Review and submit…' }).click();
    const settings = summary.getByLabel('Settings');
    await expect(settings).toContainText('No public IPsYes');
    await expect(settings).toContainText('FlexRSYes');
    await page.screenshot({
      path: `${SHOTS}/advanced-dataflow-review-dark.png`
    });
  });
});
