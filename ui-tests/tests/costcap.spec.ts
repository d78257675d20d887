/**
 * A cost cap, end to end against the stand-ins of Google's APIs (the cloud
 * server of cloud.spec.ts): a Vertex AI job whose estimate reaches its
 * `scheduling.max_cost_usd` is cancelled by the server, and JupyterLab says so
 * at once in a notification that stays until dismissed.
 */
import { expect, test as galataTest } from '@jupyterlab/galata';

import { PANEL_ID, openPanel, startServer } from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

/** Eight H100s (about $89 an hour): a cap of a hundredth of a cent is reached at once. */
const CAPPED = {
  kind: 'train',
  backend: 'vertex',
  name: 'ui-capped',
  source: { code: "print('training')" },
  resources: {
    machine_type: 'a3-highgpu-8g',
    accelerator_type: 'NVIDIA_H100_80GB',
    accelerator_count: 8
  },
  scheduling: { max_cost_usd: 0.0001 }
};

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

test.describe.configure({ mode: 'serial', timeout: 240_000 });

test.describe('Cost caps', () => {
  test('a job stopped by its cost cap is notified at once, in both themes', async ({
    page,
    request
  }) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await openPanel(page);
    const response = await request.post('/mlp/jobs', { data: CAPPED });
    expect(response.status(), await response.text()).toBe(201);

    const toast = page.locator('.Toastify__toast', {
      hasText: 'Job ui-capped was stopped by its cost cap'
    });
    await expect(toast).toBeVisible({ timeout: 60_000 });
    await expect(toast).toContainText(
      /≈ \$\d+\.\d+ reached the \$0\.0001 cap\./
    );
    await page.screenshot({ path: `${SHOTS}/costcap-notification-light.png` });
    await page.theme.setDarkTheme();
    await expect(toast).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/costcap-notification-dark.png` });

    await toast.getByRole('button', { name: 'Open job' }).click();
    const detail = page.locator(`#${PANEL_ID} .jp-mlp-JobDetail`);
    await expect(detail).toContainText(
      /Message\s*cancel requested by its cost cap: ≈ \$\d+\.\d+ reached the \$0\.0001 cap/,
      { timeout: 15_000 }
    );
    await page.screenshot({ path: `${SHOTS}/costcap-detail-dark.png` });
  });
});
