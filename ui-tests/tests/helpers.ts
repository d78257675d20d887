/**
 * Shared steps of the jupyter-mlp Galata tests: jobs and files made through
 * the real REST APIs, the panel and the launch form opened the way a person does.
 */
import { expect } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

export const PANEL_ID = 'jupyter-mlp-panel';

/** Submit a job through the REST API, as a notebook magic or the CLI would. */
export async function submitJob(
  request: APIRequestContext,
  name: string,
  code: string
): Promise<{ id: string; name: string }> {
  const response = await request.post('/mlp/jobs', {
    data: { kind: 'train', name, source: { code } }
  });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}

/** Write a file under the server's root through the contents API. */
export async function putFile(
  request: APIRequestContext,
  path: string,
  content: string
): Promise<void> {
  const response = await request.put(`/api/contents/${path}`, {
    data: { type: 'file', format: 'text', content }
  });
  expect(response.ok(), await response.text()).toBe(true);
}

/** Write a notebook whose first cell is tagged `parameters`. */
export async function putNotebook(
  request: APIRequestContext,
  path: string,
  parameters: string,
  body: string
): Promise<void> {
  const cell = (source: string, tags: string[] = []) => ({
    cell_type: 'code',
    metadata: { tags },
    source,
    outputs: [],
    execution_count: null
  });
  const response = await request.put(`/api/contents/${path}`, {
    data: {
      type: 'notebook',
      content: {
        cells: [cell(parameters, ['parameters']), cell(body)],
        metadata: {
          kernelspec: {
            name: 'python3',
            display_name: 'Python 3',
            language: 'python'
          }
        },
        nbformat: 4,
        nbformat_minor: 5
      }
    }
  });
  expect(response.ok(), await response.text()).toBe(true);
}

/** Open the panel the way a person does: by clicking its sidebar icon. */
export async function openPanel(page: Page): Promise<Locator> {
  const tab = page.locator(
    `.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="${PANEL_ID}"]`
  );
  await expect(tab).toBeVisible();
  await tab.click();
  const panel = page.locator(`#${PANEL_ID}`);
  await expect(panel).toBeVisible();
  return panel;
}

/** Open the launch form from the panel's + button. */
export async function openLaunchForm(page: Page): Promise<Locator> {
  const panel = await openPanel(page);
  await panel.getByRole('button', { name: 'Launch a job' }).click();
  const form = page.locator('.jp-mlp-SubmitForm');
  await expect(form).toBeVisible();
  return form;
}

/** A field of the launch form by its spec field name. */
export function field(form: Locator, name: string): Locator {
  return form.locator(`.jp-mlp-Field[data-field="${name}"]`);
}

/** Confirm the dialog that asks before cancelling or deleting. */
export async function confirm(page: Page, button: string): Promise<void> {
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: button }).click();
  await expect(dialog).toHaveCount(0);
}
