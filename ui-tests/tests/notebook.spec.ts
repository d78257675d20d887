import { expect, test } from '@jupyterlab/galata';

import { PANEL_ID, putNotebook } from './helpers';

test.describe('Run a notebook as a job', () => {
  test('from the notebook toolbar, with a parameter changed, to its executed copy', async ({
    page,
    request
  }) => {
    await putNotebook(
      request,
      'train_params.ipynb',
      'epochs = 3\nrate = 0.5\nlayers = [64, 32]\n',
      "print('trained for', epochs, 'epochs at', rate, 'layers', layers)"
    );
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('docmanager:open', {
        path: 'train_params.ipynb'
      });
    });
    const toolbar = page.locator(
      '.jp-NotebookPanel:visible .jp-NotebookPanel-toolbar'
    );
    await expect(toolbar).toBeVisible({ timeout: 20000 });
    await toolbar.locator('[data-jp-item-name="mlp-run-as-job"]').click();
    const form = page.locator('.jp-mlp-SubmitForm');
    await expect(form).toBeVisible();
    await expect(form.getByLabel('Notebook or script')).toHaveValue(
      'train_params.ipynb'
    );

    // The parameters cell's defaults, typed.
    const epochs = form.getByLabel('epochs');
    await expect(epochs).toHaveValue('3');
    await expect(form.getByLabel('layers')).toHaveValue('[64,32]');
    await epochs.fill('7');
    const submit = form.getByRole('button', { name: 'Submit job' });
    await expect(submit).toBeEnabled();
    await submit.click();

    const detail = page.locator(`#${PANEL_ID} .jp-mlp-JobDetail`);
    await expect(
      detail.locator('.jp-mlp-RunParameters dt:text-is("epochs") + dd')
    ).toHaveText('7');
    await expect(detail.locator('.jp-mlp-StateBadge').first()).toHaveText(
      'Succeeded',
      { timeout: 90000 }
    );
    await detail
      .locator('.jp-mlp-JobDetail-outputs li', { hasText: 'Executed notebook' })
      .getByRole('button')
      .click();

    // The executed copy opens with the output of the injected parameter.
    const output = page.locator(
      '.jp-NotebookPanel:visible .jp-OutputArea-output',
      { hasText: 'trained for 7 epochs' }
    );
    await expect(output).toBeVisible({ timeout: 20000 });
  });

  test('a failed notebook job opens the notebook at the failing cell', async ({
    page,
    request
  }) => {
    await putNotebook(
      request,
      'fails_at_two.ipynb',
      'rows = 3\n',
      "raise ValueError(f'no data for {rows} rows')"
    );
    const response = await request.post('/mlp/jobs', {
      data: {
        kind: 'train',
        name: 'ui-fails-at-two',
        source: { path: 'fails_at_two.ipynb', mode: 'notebook' }
      }
    });
    expect(response.status(), await response.text()).toBe(201);
    const job = await response.json();

    await page.evaluate(async id => {
      await window.jupyterapp.commands.execute('mlp:open-panel', { id });
    }, job.id);
    const failure = page.locator(`#${PANEL_ID} .jp-mlp-Failure`);
    await expect(failure).toContainText('cell 2 raised ValueError', {
      timeout: 90000
    });
    await page.screenshot({
      path: '/tmp/jupyter-mlp-ui-shots/failed-cell.png'
    });
    await failure
      .getByRole('button', { name: 'Open the notebook at cell 2' })
      .click();

    const active = page.locator(
      '.jp-NotebookPanel:visible .jp-Notebook .jp-Cell.jp-mod-active'
    );
    await expect(active).toContainText('raise ValueError', { timeout: 20000 });
    await expect(active).toBeInViewport();
    await page.screenshot({
      path: '/tmp/jupyter-mlp-ui-shots/failed-cell-open.png'
    });
  });
});
