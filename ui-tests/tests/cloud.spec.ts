/**
 * The cloud half of the panel, end to end against the stand-ins of Google's
 * APIs: a server of its own (MLP_UI_CLOUD=1, see jupyter_server_test_config.py)
 * has Vertex AI and Dataflow configured against the fake JobService, the
 * storage emulator, the fake Cloud Logging and the fake Dataflow API, whose jobs
 * move through their lives by themselves. Jobs are launched from the form, as a
 * person does, and watched in the panel.
 */
import { expect, test as galataTest } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';

import {
  PANEL_ID,
  confirm,
  field,
  openLaunchForm,
  putFile,
  startServer
} from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

/** A Beam pipeline as a person would write it; its options come from the command line. */
const PIPELINE = [
  'import apache_beam as beam',
  'from apache_beam.options.pipeline_options import PipelineOptions',
  '',
  'with beam.Pipeline(options=PipelineOptions()) as pipeline:',
  '    (pipeline',
  "     | 'Read' >> beam.Create(['to be', 'or not', 'to be'])",
  "     | 'Upper' >> beam.Map(str.upper))",
  ''
].join('\n');

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
const test = galataTest.extend<{}, { cloudServer: string }>({
  // One server with the stand-ins for the file's tests (a worker's life).
  cloudServer: [
    async ({ browser }, use) => {
      const server = await startServer({ MLP_UI_CLOUD: '1' });
      // A first load of the lab on a fresh server (its workspace, settings, the
      // extensions' first imports) can take longer than a test's page allows.
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
  // Galata's own wait gives the lab 15 s to restore, which a loaded machine can
  // exceed on a server's first pages: the same wait, with more time.
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

// Each test waits for a Beam submission or a cloud job's life on a shared, loaded machine.
test.describe.configure({ mode: 'serial', timeout: 240_000 });

/** The detail of the job the form just launched, once the form closed. */
async function launchedJob(page: Page, form: Locator): Promise<Locator> {
  await expect(form).toHaveCount(0, { timeout: 15000 });
  const detail = page.locator(`#${PANEL_ID} .jp-mlp-JobDetail`);
  await expect(detail).toBeVisible();
  return detail;
}

/** The detail's state badge (the first badge; the timeline has the others). */
function stateOf(detail: Locator): Locator {
  return detail.locator('.jp-mlp-JobDetail-fields .jp-mlp-StateBadge');
}

/** Review the cloud job and confirm it. */
async function reviewAndSubmit(
  form: Locator,
  service: string
): Promise<Locator> {
  const review = form.getByRole('button', { name: 'Review and submit…' });
  await expect(review).toBeEnabled({ timeout: 15000 });
  await review.click();
  const summary = form.locator('.jp-mlp-Review');
  await expect(summary).toContainText(`Launch on ${service}?`);
  return summary;
}

test.describe('Cloud jobs against the stand-ins', () => {
  test.beforeEach(async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 1000 });
  });

  test('a Vertex AI job with a GPU runs to success in the panel', async ({
    page,
    request
  }) => {
    await putFile(request, 'train_cloud.py', "print('training')\n");
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('train_cloud.py');
    await form.getByLabel('Job name').fill('ui-vertex-t4');
    await form.getByLabel('Backend').selectOption('vertex');
    // Configured against the stand-ins: nothing to set up.
    await expect(field(form, 'backend')).not.toContainText('Set c.');
    await form.getByLabel('Machine type').selectOption('n1-standard-8');
    await form.getByLabel('Accelerator').selectOption('NVIDIA_TESLA_T4');
    await form.getByLabel('Count').selectOption('1');
    await expect(form.locator('.jp-mlp-Estimate')).toContainText(
      /≈ \$\d+\.\d+ per hour/,
      { timeout: 15000 }
    );
    await page.screenshot({ path: `${SHOTS}/cloud-vertex-form.png` });

    const summary = await reviewAndSubmit(form, 'Vertex AI');
    await expect(summary).toContainText('project ui-test-project');
    await expect(summary).toContainText('1 × T4 per replica');
    await expect(summary).toContainText('gs://mlp-ui-staging/mlp/<job id>/');
    await page.screenshot({ path: `${SHOTS}/cloud-vertex-review.png` });
    await summary.getByRole('button', { name: 'Confirm and submit' }).click();

    const detail = await launchedJob(page, form);
    await expect(detail.locator('.jp-mlp-JobDetail-title')).toHaveText(
      'ui-vertex-t4'
    );
    await expect(stateOf(detail)).toHaveText('Running', { timeout: 60000 });
    await expect(stateOf(detail)).toHaveText('Succeeded', { timeout: 60000 });
    const console = detail.getByRole('link', {
      name: 'Open in the cloud console'
    });
    await expect(console).toHaveAttribute(
      'href',
      /^https:\/\/console\.cloud\.google\.com\/.*training\/\d+\?project=ui-test-project$/
    );
    await expect(detail.locator('.jp-mlp-LogView-text')).toContainText(
      'Training finished.',
      { timeout: 15000 }
    );
    // Training on Vertex AI has no pipeline steps: no progress section.
    await expect(detail.getByRole('heading', { name: 'Progress' })).toHaveCount(
      0
    );
    await page.screenshot({ path: `${SHOTS}/cloud-vertex-detail.png` });
  });

  test('an ETL pipeline on Dataflow runs to done and shows its progress', async ({
    page,
    request
  }) => {
    await putFile(request, 'pipeline.py', PIPELINE);
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('pipeline.py');
    await form.getByLabel('Job name').fill('ui-dataflow-batch');
    await form.getByLabel('Kind').selectOption('etl');
    await form.getByLabel('Backend').selectOption('dataflow');
    await form.getByLabel('Worker machine type').selectOption('n1-standard-4');
    await form.getByLabel('Max workers').fill('3');
    const pipeline = form.getByRole('region', { name: 'Pipeline' });
    await expect(pipeline.getByLabel('Streaming pipeline')).not.toBeChecked();
    await pipeline.getByLabel('Pipeline options').fill('--greeting "hi there"');
    await page.screenshot({ path: `${SHOTS}/cloud-dataflow-form.png` });

    const summary = await reviewAndSubmit(form, 'Dataflow');
    await expect(summary).toContainText('up to 3 workers');
    await summary.getByRole('button', { name: 'Confirm and submit' }).click();

    const detail = await launchedJob(page, form);
    // The pipeline is built and submitted by Beam's own DataflowRunner first.
    await expect(stateOf(detail)).toHaveText('Running', { timeout: 90000 });
    const progress = detail.locator('.jp-mlp-EtlProgress');
    await expect(progress).toContainText('elements', { timeout: 15000 });
    await expect(stateOf(detail)).toHaveText('Succeeded', { timeout: 60000 });
    // One last read once it ended: the final counts.
    await expect(progress).toContainText('100 elements', { timeout: 15000 });
    await expect(
      detail.getByRole('link', { name: 'Open in the cloud console' })
    ).toHaveAttribute('href', /\/dataflow\/jobs\/us-central1\//);
    await expect(detail.getByRole('button', { name: /^Drain/ })).toHaveCount(0);
    await page.screenshot({ path: `${SHOTS}/cloud-dataflow-detail.png` });

    // The job as submitted (a listed summary leaves the args out).
    const listed = await (
      await request.get('/mlp/jobs?search=ui-dataflow-batch')
    ).json();
    const job = await (
      await request.get(`/mlp/jobs/${listed.jobs[0].id}`)
    ).json();
    expect(job.spec.args).toEqual(['--greeting', 'hi there']);
    expect(job.spec.resources).toMatchObject({
      machine_type: 'n1-standard-4',
      max_workers: 3
    });
  });

  test('a streaming pipeline on Dataflow is drained from the panel', async ({
    page,
    request
  }) => {
    await putFile(request, 'stream.py', PIPELINE);
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('stream.py');
    await form.getByLabel('Job name').fill('ui-dataflow-stream');
    await form.getByLabel('Kind').selectOption('etl');
    await form.getByLabel('Backend').selectOption('dataflow');
    await form
      .getByRole('region', { name: 'Pipeline' })
      .getByLabel('Streaming pipeline')
      .check();
    const summary = await reviewAndSubmit(form, 'Dataflow');
    await summary.getByRole('button', { name: 'Confirm and submit' }).click();

    const detail = await launchedJob(page, form);
    await expect(stateOf(detail)).toHaveText('Running', { timeout: 90000 });
    const drain = detail.getByRole('button', {
      name: 'Drain job ui-dataflow-stream'
    });
    await expect(drain).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/cloud-dataflow-streaming.png` });
    await drain.click();
    await confirm(page, 'Drain job');

    await expect(stateOf(detail)).toHaveText('Cancelled', { timeout: 30000 });
    await expect(detail.locator('.jp-mlp-JobDetail-message')).toContainText(
      'drained: it stopped reading its input'
    );
    await expect(drain).toHaveCount(0);
    await page.screenshot({ path: `${SHOTS}/cloud-dataflow-drained.png` });
  });
});
