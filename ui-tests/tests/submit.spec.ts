import { expect, test } from '@jupyterlab/galata';

import { PANEL_ID, field, openLaunchForm, putFile } from './helpers';

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

  test('an invalid machine and GPU count shows the error next to the count', async ({
    page
  }) => {
    const form = await openLaunchForm(page);
    await form.getByLabel('Backend').selectOption('vertex');
    await form.getByLabel('Machine type').selectOption('a2-highgpu-1g');
    await expect(form.getByLabel('Count')).toHaveValue('1');

    // The same single A100 on a machine that comes with two.
    await form.getByLabel('Machine type').selectOption('a2-highgpu-2g');
    const count = field(form, 'resources.accelerator_count');
    await expect(count.locator('.jp-mlp-FieldError')).toContainText(
      'a2-highgpu-2g takes exactly 2',
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

test.describe('Launch form: submitting', () => {
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
    await expect(
      field(form, 'source.path').locator('.jp-mlp-FieldError')
    ).toContainText('no file', { timeout: 10000 });
    await expect(
      form.getByRole('button', { name: 'Submit job' })
    ).toBeDisabled();
  });
});
