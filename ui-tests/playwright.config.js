/**
 * Playwright configuration for the jupyter-mlp Galata tests.
 *
 * Chromium comes from the system (Playwright's own download is not
 * reachable); the test server gets its own port so it never reuses a
 * JupyterLab someone else started on 8888.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// MLP_UI_PORT lets two test runs (e.g. two developers' branches) share a machine.
const PORT = Number(process.env.MLP_UI_PORT || 8899);

module.exports = {
  ...baseConfig,
  reporter: [['list']],
  retries: process.env.CI ? 1 : 0,
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${PORT}`,
    video: 'off',
    // A click or fill that cannot happen fails within 30 s naming its element, instead of
    // waiting out the whole test's time.
    actionTimeout: 30 * 1000,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `http://localhost:${PORT}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe'
  }
};
