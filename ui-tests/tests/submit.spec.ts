import { expect, galata, test } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';

import {
  PANEL_ID,
  field,
  openLaunchForm,
  putFile,
  putNotebook
} from './helpers';

/** Screenshots to look at by hand; never committed. */
const SHOTS = '/tmp/jupyter-mlp-ui-shots';

/** Answers as from a server without the dataflow extra (Beam), whatever this one has: the
 * backend is listed, with what it can do, but cannot take jobs. */
async function withoutDataflow(page: Page): Promise<void> {
  await page.route('**/mlp/backends*', async route => {
    const response = await route.fetch();
    const answer = await response.json();
    answer.backends = answer.backends.map((b: { name: string }) =>
      b.name === 'dataflow'
        ? {
            ...b,
            available: false,
            configured: false,
            reason:
              'apache-beam is not installed: pip install jupyter_mlp[dataflow]'
          }
        : b
    );
    await route.fulfill({ response, json: answer });
  });
  await page.route('**/mlp/validate*', async route => {
    const spec = route.request().postDataJSON();
    const response = await route.fetch();
    const answer = await response.json();
    if (spec.backend === 'dataflow') {
      answer.errors = answer.errors.filter(
        (e: { field: string }) => e.field !== 'backend'
      );
      answer.errors.push({
        field: 'backend',
        message:
          "backend 'dataflow' is not installed; available: local, vertex",
        suggestions: ['local', 'vertex'],
        severity: 'error'
      });
    }
    await route.fulfill({ response, json: answer });
  });
}

/** The launch form's first resources, as a person's settings give them. */
function startingWith(resources: Record<string, unknown>) {
  return {
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-mlp:plugin': {
        defaultBackend: 'vertex',
        defaultResources: resources
      }
    }
  };
}

test.describe('Launch form: resource picker', () => {
  test('choosing a machine type narrows the accelerator list', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    await form.getByLabel('Backend').selectOption('vertex');
    const machine = form.getByLabel('Machine type');
    await expect(machine).toBeVisible();
    const accelerator = form.getByLabel('Accelerator');
    const enabled = () =>
      accelerator
        .locator('option:not([disabled])')
        .evaluateAll(options =>
          options.map(o => (o as HTMLOptionElement).value)
        );

    await machine.selectOption('n1-standard-8');
    expect(await enabled()).toEqual([
      '',
      'NVIDIA_TESLA_T4',
      'NVIDIA_TESLA_V100',
      'NVIDIA_TESLA_P100',
      'NVIDIA_TESLA_P4'
    ]);
    // An A100 does not attach to N1: listed, disabled, with the reason.
    const a100 = accelerator.locator('option[value="NVIDIA_TESLA_A100"]');
    await expect(a100).toBeDisabled();
    await expect(a100).toHaveAttribute(
      'title',
      /n1-standard-8 takes .*not A100/
    );

    await machine.selectOption('a2-highgpu-1g');
    expect(await enabled()).toEqual(['NVIDIA_TESLA_A100']);
    // A machine with built-in GPUs brings them.
    await expect(accelerator).toHaveValue('NVIDIA_TESLA_A100');
    await expect(form.getByLabel('Count')).toHaveValue('1');

    await page.screenshot({
      path: test.info().outputPath('submit-form-light.png')
    });
  });

  test('a machine with its own GPUs replaces an accelerator it cannot take', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    await form.getByLabel('Backend').selectOption('vertex');
    const machine = form.getByLabel('Machine type');
    const accelerator = form.getByLabel('Accelerator');
    const count = form.getByLabel('Count');
    await machine.selectOption('n1-standard-8');
    await accelerator.selectOption('NVIDIA_TESLA_T4');
    await count.selectOption('2');

    await machine.selectOption('a2-highgpu-1g');
    await expect(accelerator).toHaveValue('NVIDIA_TESLA_A100');
    await expect(count).toHaveValue('1');
    // Between machines with built-in GPUs, the count follows the machine.
    await machine.selectOption('a2-highgpu-2g');
    await expect(count).toHaveValue('2');
    // A machine that attaches GPUs but not this one drops it.
    await machine.selectOption('n1-standard-8');
    await expect(accelerator).toHaveValue('');
    await expect(count).toHaveValue('0');
    await expect(
      form.locator('.jp-mlp-Field[data-field^="resources."] .jp-mlp-FieldError')
    ).toHaveCount(0, { timeout: 10000 });
  });

  test('Use local also fixes the GPU count this machine cannot give', async ({
    page
  }) => {
    await withoutDataflow(page);
    const form = await openLaunchForm(page);
    // Dataflow is not installed: its error offers the installed backends.
    await form.getByLabel('Backend').selectOption('dataflow');
    await form.getByLabel('Worker machine type').selectOption('n1-standard-8');
    await form.getByLabel('Accelerator').selectOption('NVIDIA_TESLA_T4');
    await form.getByLabel('Count').selectOption('4');
    const backend = field(form, 'backend');
    await backend
      .getByRole('button', { name: 'Use local' })
      .click({ timeout: 10000 });

    await expect(form.getByLabel('Backend')).toHaveValue('local');
    const catalog = await (
      await page.request.get('/mlp/catalog?backend=local')
    ).json();
    await expect(form.getByLabel('GPUs')).toHaveValue(
      String(Math.min(4, catalog.gpus.length))
    );
    await expect(
      field(form, 'resources.accelerator_count').locator('.jp-mlp-FieldError')
    ).toHaveCount(0, { timeout: 10000 });
    await expect(
      field(form, 'backend').locator('.jp-mlp-FieldError')
    ).toHaveCount(0);
  });

  test.describe('with resources from the settings', () => {
    test.use(
      startingWith({
        machine_type: 'a2-highgpu-2g',
        accelerator_type: 'NVIDIA_TESLA_A100',
        accelerator_count: 1
      })
    );

    test('an invalid machine and GPU count shows the error next to the count', async ({
      page
    }) => {
      const form = await openLaunchForm(page);
      await expect(form.getByLabel('Machine type')).toHaveValue(
        'a2-highgpu-2g'
      );
      const count = field(form, 'resources.accelerator_count');
      // Settings the person did not touch here: their problems show on a submit attempt.
      await attemptSubmit(form);
      await expect(count.locator('.jp-mlp-FieldError')).toContainText(
        'a2-highgpu-2g takes exactly 2 A100, not 1',
        { timeout: 10000 }
      );
      await expect(form.getByLabel('Count')).toHaveAttribute(
        'aria-invalid',
        'true'
      );
      // The backend is not configured here: said next to the backend, not the count.
      await expect(field(form, 'backend')).toContainText(
        'Set c.VertexBackend.staging_bucket in jupyter_server_config.py'
      );

      await count.getByRole('button', { name: 'Use 2' }).click();
      await expect(form.getByLabel('Count')).toHaveValue('2');
      await expect(count.locator('.jp-mlp-FieldError')).toHaveCount(0, {
        timeout: 10000
      });
    });
  });

  test.describe('with an accelerator the machine cannot take', () => {
    test.use(
      startingWith({
        machine_type: 'a2-highgpu-1g',
        accelerator_type: 'NVIDIA_TESLA_T4',
        accelerator_count: 1
      })
    );

    test('the error names accelerators by short names and cuts long lists', async ({
      page
    }) => {
      const form = await openLaunchForm(page);
      await attemptSubmit(form);
      const error = field(form, 'resources.accelerator_type').locator(
        '.jp-mlp-FieldError-message'
      );
      await expect(error).toContainText('a2-highgpu-1g takes 1 A100, not T4', {
        timeout: 10000
      });
      await expect(error).not.toContainText('NVIDIA_');
      await expect(error).toContainText(/ and \d+ more/);
      await error.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/picker-short-names.png` });
    });
  });

  test('the hourly estimate appears and follows the choice', async ({
    page
  }) => {
    await page.theme.setDarkTheme();
    const form = await openLaunchForm(page);
    await form.getByLabel('Backend').selectOption('vertex');
    await form.getByLabel('Machine type').selectOption('n1-standard-8');
    await form.getByLabel('Accelerator').selectOption('NVIDIA_TESLA_T4');
    const estimate = form.locator('.jp-mlp-Estimate');
    await expect(estimate).toContainText(/≈ \$\d+\.\d+ per hour/, {
      timeout: 10000
    });
    await expect(estimate).toContainText(
      /estimate, prices as of \d{4}-\d\d-\d\d/
    );
    const one = await estimate.locator('.jp-mlp-Estimate-cost').textContent();
    // What it adds up is on the page, not only in a tooltip.
    const breakdown = estimate.getByRole('list', {
      name: 'What the estimate adds up'
    });
    await expect(breakdown).toContainText(/n1-standard-8: \$[\d.]+\/h/);
    await expect(breakdown).toContainText(/1 × T4: \$[\d.]+\/h/);

    await form.getByLabel('Count').selectOption('2');
    await expect(estimate.locator('.jp-mlp-Estimate-cost')).not.toHaveText(
      one ?? '',
      { timeout: 10000 }
    );

    await page.screenshot({
      path: test.info().outputPath('submit-form-dark.png')
    });
  });

  test('a backend that is not set up says what to set or install', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    const backend = field(form, 'backend');
    await form.getByLabel('Backend').selectOption('vertex');
    await expect(backend.locator('.jp-mlp-BackendSetup')).toContainText(
      'Set c.VertexBackend.staging_bucket in jupyter_server_config.py'
    );
    // What the server has set is shown, never asked for.
    await expect(form.locator('.jp-mlp-BackendSettings')).toContainText(
      'location us-central1'
    );
    await page.screenshot({
      path: '/tmp/jupyter-mlp-ui-shots/backend-vertex.png'
    });

    // Dataflow is installed with the package's `dataflow` extra, but not set up.
    await form.getByLabel('Backend').selectOption('dataflow');
    await expect(backend.locator('.jp-mlp-BackendSetup')).toContainText(
      'Set c.DataflowBackend.'
    );
  });

  test('a machine with conditions and no price says so, without an error', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    await form.getByLabel('Backend').selectOption('vertex');
    const machine = form.getByLabel('Machine type');
    await expect(
      machine.locator('option[value="a3-megagpu-8g"]')
    ).toContainText('price not known');
    await machine.selectOption('a3-megagpu-8g');
    const machineField = field(form, 'resources.machine_type');
    await expect(machineField.locator('.jp-mlp-Conditions')).toContainText(
      'reservation, Flex-start or Spot'
    );
    const estimate = form.locator('.jp-mlp-Estimate');
    await expect(estimate).toContainText('Price not known', {
      timeout: 10000
    });
    await expect(estimate).toContainText('a3-megagpu-8g');
    // Warnings are not errors: nothing is marked invalid on the resources.
    await expect(machine).toHaveAttribute('aria-invalid', 'false');
    await expect(
      form.locator('.jp-mlp-Field[data-field^="resources."] .jp-mlp-FieldError')
    ).toHaveCount(0);
    await estimate.scrollIntoViewIfNeeded();
    await page.screenshot({
      path: '/tmp/jupyter-mlp-ui-shots/picker-conditions.png'
    });

    // A priced choice shows the estimate, with how its prices were found.
    await machine.selectOption('a3-highgpu-8g');
    await form.getByLabel('Accelerator').selectOption('NVIDIA_H100_80GB');
    await expect(estimate).toContainText(/≈ \$\d+\.\d+ per hour/, {
      timeout: 10000
    });
    await estimate.locator('summary').click();
    await expect(estimate.locator('.jp-mlp-Estimate-caveats')).toContainText(
      'a3-highgpu-8g'
    );
    await estimate.scrollIntoViewIfNeeded();
    await page.screenshot({
      path: '/tmp/jupyter-mlp-ui-shots/picker-caveats.png'
    });
  });

  test('a warning shows next to its field and does not stop the job', async ({
    page,
    request
  }) => {
    await putFile(request, 'warned_job.py', "print('warned')\n");
    // The server's own answer, with one warning added (as for a GPU count that fits only some zones).
    await page.route('**/mlp/validate*', async route => {
      const response = await route.fetch();
      const answer = await response.json();
      answer.errors.push({
        field: 'resources.accelerator_count',
        message: 'fits only some zones of the region',
        suggestions: [],
        severity: 'warning'
      });
      await route.fulfill({ response, json: answer });
    });
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('warned_job.py');
    const count = field(form, 'resources.accelerator_count');
    await expect(count.locator('.jp-mlp-FieldWarning')).toHaveText(
      'fits only some zones of the region',
      { timeout: 10000 }
    );
    await expect(count.locator('.jp-mlp-FieldError')).toHaveCount(0);
    await expect(form.getByLabel('GPUs')).toHaveAttribute(
      'aria-invalid',
      'false'
    );
    await expect(
      form.getByRole('button', { name: 'Submit job' })
    ).toBeEnabled();
    await count.scrollIntoViewIfNeeded();
    await page.screenshot({
      path: '/tmp/jupyter-mlp-ui-shots/field-warning.png'
    });
  });

  test('local backend lists this machine and limits GPUs to those present', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    await expect(form.getByLabel('Backend')).toHaveValue('local');
    await expect(form.locator('.jp-mlp-LocalMachine')).toContainText(
      'This machine'
    );
    const counts = await form
      .getByLabel('GPUs')
      .locator('option')
      .evaluateAll(options => options.map(o => (o as HTMLOptionElement).value));
    const catalog = await (
      await page.request.get('/mlp/catalog?backend=local')
    ).json();
    expect(counts).toEqual(
      Array.from({ length: catalog.gpus.length + 1 }, (_, i) => String(i))
    );
  });
});

/**
 * Answers as from a configured Vertex AI backend (this server has no bucket set):
 * its status, validation without the setup errors, and a recorded, faked submission.
 */
async function fakeConfiguredVertex(page: Page): Promise<unknown[]> {
  const submitted: unknown[] = [];
  await page.route('**/mlp/backends*', async route => {
    const response = await route.fetch();
    const answer = await response.json();
    for (const backend of answer.backends) {
      if (backend.name === 'vertex') {
        Object.assign(backend, {
          configured: true,
          missing: [],
          reason: '',
          outputs: 'gs://demo-bucket/mlp/<job id>/ (model in model/)'
        });
        Object.assign(backend.settings, {
          project: 'demo-project',
          staging_bucket: 'gs://demo-bucket'
        });
      }
    }
    await route.fulfill({ response, json: answer });
  });
  await page.route('**/mlp/validate*', async route => {
    const response = await route.fetch();
    const answer = await response.json();
    answer.errors = answer.errors.filter(
      (e: { field: string }) => e.field !== 'backend'
    );
    await route.fulfill({ response, json: answer });
  });
  await page.route(
    url => url.pathname.endsWith('/mlp/jobs'),
    async route => {
      if (route.request().method() !== 'POST') {
        return route.fallback();
      }
      submitted.push(route.request().postDataJSON());
      await route.fulfill({
        status: 201,
        json: {
          id: 'fake0000cloud',
          name: 'cloud-job',
          kind: 'train',
          backend: 'vertex',
          state: 'QUEUED',
          spec: route.request().postDataJSON(),
          created_at: new Date().toISOString(),
          outputs: {},
          transitions: []
        }
      });
    }
  );
  return submitted;
}

test.describe('Launch form: submitting', () => {
  test('a disabled Submit button looks disabled', async ({ page }) => {
    const form = await openLaunchForm(page);
    const submit = form.getByRole('button', { name: 'Submit job' });
    // No path yet: nothing to submit.
    await expect(submit).toBeDisabled();
    const opacity = await submit.evaluate(el =>
      Number(getComputedStyle(el).opacity)
    );
    expect(opacity).toBeLessThan(0.7);
    await form.getByRole('button', { name: 'Cancel' }).hover();
    await page.screenshot({ path: `${SHOTS}/submit-disabled.png` });
  });

  test('Enter in a field does not submit; Ctrl+Enter does', async ({
    page,
    request
  }) => {
    await putFile(request, 'enter_job.py', "print('entered')\n");
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('enter_job.py');
    const name = form.getByLabel('Job name');
    await name.fill('ui-enter-job');
    await expect(form.getByRole('button', { name: 'Submit job' })).toBeEnabled({
      timeout: 10000
    });
    await name.press('Enter');
    await page.waitForTimeout(1000);
    await expect(form).toBeVisible();
    const listed = await (
      await request.get('/mlp/jobs?search=ui-enter-job')
    ).json();
    expect(listed.jobs).toHaveLength(0);

    await name.press('Control+Enter');
    await expect(form).toHaveCount(0);
    await expect(
      page.locator(`#${PANEL_ID} .jp-mlp-JobDetail-title`)
    ).toHaveText('ui-enter-job');
  });

  test('a cloud job is reviewed before it is submitted', async ({
    page,
    request
  }) => {
    await putFile(request, 'cloud_job.py', "print('in the cloud')\n");
    const submitted = await fakeConfiguredVertex(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('cloud_job.py');
    await form.getByLabel('Backend').selectOption('vertex');
    await form.getByLabel('Machine type').selectOption('n1-standard-8');
    await form.getByLabel('Accelerator').selectOption('NVIDIA_TESLA_T4');
    await form.getByLabel('Count').selectOption('2');
    await expect(form.locator('.jp-mlp-Estimate')).toContainText(
      /≈ \$\d+\.\d+ per hour/,
      { timeout: 10000 }
    );

    // The button stays in view at the top of a long form (a sticky footer).
    const review = form.getByRole('button', { name: 'Review and submit…' });
    await form.getByLabel('Notebook or script').scrollIntoViewIfNeeded();
    await expect(review).toBeInViewport();
    await expect(review).toBeEnabled({ timeout: 10000 });
    // Enter in a field does not even open the review.
    await form.getByLabel('Job name').press('Enter');
    await expect(form.locator('.jp-mlp-Review')).toHaveCount(0);
    await review.click();

    const summary = form.locator('.jp-mlp-Review');
    await expect(summary).toBeInViewport();
    await expect(summary).toContainText(
      'Vertex AI · project demo-project · region us-central1'
    );
    await expect(summary).toContainText('n1-standard-8 (8 vCPU, 30 GB)');
    await expect(summary).toContainText('2 × T4 per replica');
    await expect(summary).toContainText(/≈ \$\d+\.\d+ per hour/);
    await expect(summary).toContainText('gs://demo-bucket/mlp/<job id>/');
    await page.screenshot({ path: `${SHOTS}/submit-review.png` });
    expect(submitted).toHaveLength(0);

    // Back returns to the form, nothing submitted.
    await summary.getByRole('button', { name: 'Back' }).click();
    await expect(summary).toHaveCount(0);
    expect(submitted).toHaveLength(0);

    await review.click();
    await summary.getByRole('button', { name: 'Confirm and submit' }).click();
    await expect(form).toHaveCount(0);
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toMatchObject({
      backend: 'vertex',
      resources: {
        machine_type: 'n1-standard-8',
        accelerator_type: 'NVIDIA_TESLA_T4',
        accelerator_count: 2
      }
    });
  });

  test('a job launched from the panel runs and its log shows the output', async ({
    page,
    request
  }) => {
    await putFile(request, 'hello_job.py', "print('hello from the form')\n");
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('hello_job.py');
    await form.getByLabel('Job name').fill('ui-form-job');
    const submit = form.getByRole('button', { name: 'Submit job' });
    await expect(submit).toBeEnabled();
    await submit.click();

    // The form closes and the panel shows the new job.
    await expect(form).toHaveCount(0);
    const detail = page.locator(`#${PANEL_ID} .jp-mlp-JobDetail`);
    await expect(detail.locator('.jp-mlp-JobDetail-title')).toHaveText(
      'ui-form-job'
    );
    await expect(detail.locator('.jp-mlp-StateBadge').first()).toHaveText(
      'Succeeded',
      { timeout: 60000 }
    );
    await expect(detail.locator('.jp-mlp-LogView-text')).toContainText(
      'hello from the form',
      { timeout: 15000 }
    );
  });

  test('a path that does not exist is refused next to the path', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    await form.getByLabel('Notebook or script').fill('missing.py');
    // Said once the path is left, not while it is typed.
    await form.getByLabel('Job name').click();
    await expect(
      field(form, 'source.path').locator('.jp-mlp-FieldError')
    ).toContainText('no file', { timeout: 10000 });
    await expect(
      form.getByRole('button', { name: 'Submit job' })
    ).toBeDisabled();
  });
});

/**
 * Press the form's Submit (or Review) button, blocked or not: an attempt shows every problem.
 * A blocked one is aria-disabled yet still answers a click, which Playwright only makes forced.
 */
async function attemptSubmit(form: Locator): Promise<void> {
  await form
    .locator('.jp-mlp-SubmitForm-buttons .jp-mod-accept')
    .click({ force: true });
}

test.describe('Launch form: choosing the file', () => {
  test('the file picker browses the tree and chooses a notebook', async ({
    page,
    request
  }) => {
    await request.put('/api/contents/picked', {
      data: { type: 'directory' }
    });
    await putNotebook(request, 'picked/pick_me.ipynb', 'rate = 0.5', 'rate');
    await putFile(request, 'picked/notes.txt', 'not a job\n');
    const form = await openLaunchForm(page);
    await form.getByRole('button', { name: 'Browse…' }).click();
    const browser = form.getByRole('dialog', {
      name: 'Choose a notebook or script'
    });
    await browser.getByRole('button', { name: 'picked/' }).click();
    const folder = browser.getByRole('list', { name: 'Folder /picked' });
    await expect(folder.getByRole('button')).toHaveText(['pick_me.ipynb']);
    // Browsing is not leaving the path: nothing is said of it yet.
    await expect(
      field(form, 'source.path').locator('.jp-mlp-FieldError')
    ).toHaveCount(0);
    await page.screenshot({ path: `${SHOTS}/file-picker-light.png` });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/file-picker-dark.png` });
    await page.setViewportSize({ width: 560, height: 700 });
    await page.screenshot({ path: `${SHOTS}/file-picker-narrow.png` });

    await folder.getByRole('button', { name: 'pick_me.ipynb' }).click();
    await expect(browser).toHaveCount(0);
    await expect(form.getByLabel('Notebook or script')).toHaveValue(
      'picked/pick_me.ipynb'
    );
    // The notebook is read: its parameters are the form's.
    await expect(form.getByLabel('rate')).toHaveValue('0.5', {
      timeout: 15000
    });
  });

  test('typing after + lands in the path, completed from the tree, with no error until it is left', async ({
    page,
    request
  }) => {
    await putFile(request, 'typed_here.py', "print('typed')\n");
    const checked = page.waitForResponse('**/mlp/validate*');
    const form = await openLaunchForm(page);
    await checked;
    // Nothing typed yet: no problem shown.
    await expect(form.locator('.jp-mlp-FieldError')).toHaveCount(0);

    const path = form.getByLabel('Notebook or script');
    await expect(path).toBeFocused();
    const typed = page.waitForResponse('**/mlp/validate*');
    await page.keyboard.type('typed_h');
    await expect(path).toHaveValue('typed_h');
    await expect(
      form.locator('datalist option[value="typed_here.py"]')
    ).toHaveCount(1);
    await typed;
    const pathErrors = field(form, 'source.path').locator('.jp-mlp-FieldError');
    await expect(pathErrors).toHaveCount(0);
    // Its own Browse… button is still the path; the job's name is not.
    await path.press('Tab');
    await expect(form.getByRole('button', { name: 'Browse…' })).toBeFocused();
    await expect(pathErrors).toHaveCount(0);
    await form.getByLabel('Job name').click();
    await expect(pathErrors).toBeVisible({ timeout: 10000 });
  });
});

test.describe('Launch form: problems', () => {
  test('a submit attempt sums up the problems at the footer, each a jump to its field', async ({
    page
  }) => {
    await fakeConfiguredVertex(page);
    const form = await openLaunchForm(page);
    await form.getByLabel('Backend').selectOption('vertex');
    await form.getByLabel('Replicas').fill('0');
    await attemptSubmit(form);
    const summary = form.getByRole('group', { name: 'Problems to fix' });
    await expect(summary).toContainText(/2 problems:\s*Source, Replicas/);
    await expect(field(form, 'resources.replica_count')).toContainText(
      'at least 1 replica'
    );
    await page.screenshot({ path: `${SHOTS}/problem-summary-light.png` });

    await summary.getByRole('button', { name: 'Source' }).click();
    await expect(form.getByLabel('Notebook or script')).toBeFocused();
    await summary.getByRole('button', { name: 'Replicas' }).click();
    await expect(form.getByLabel('Replicas')).toBeFocused();
    await page.theme.setDarkTheme();
    await page.screenshot({ path: `${SHOTS}/problem-summary-dark.png` });
    // A narrow main area: the summary wraps, the buttons stay on the page.
    await page.setViewportSize({ width: 560, height: 700 });
    await page.screenshot({ path: `${SHOTS}/problem-summary-narrow.png` });
  });

  test('the options show the chosen region’s prices', async ({ page }) => {
    const form = await openLaunchForm(page);
    await form.getByLabel('Backend').selectOption('vertex');
    const priced = await (
      await page.request.get('/mlp/catalog?backend=vertex&region=asia-east1')
    ).json();
    const n1 = priced.machine_types.find(
      (m: { name: string }) => m.name === 'n1-standard-8'
    );
    const t4 = priced.accelerators.find(
      (a: { type: string }) => a.type === 'NVIDIA_TESLA_T4'
    );
    const usd = (value: number) =>
      `$${value < 1 ? value.toFixed(3) : value.toFixed(2)}/h`;

    await form.getByLabel('Region').selectOption('asia-east1');
    await expect(
      form.getByLabel('Machine type').locator('option[value="n1-standard-8"]')
    ).toContainText(usd(n1.hourly_usd), { timeout: 10000 });
    await expect(
      form.getByLabel('Accelerator').locator('option[value="NVIDIA_TESLA_T4"]')
    ).toContainText(usd(t4.hourly_usd));
  });
});
