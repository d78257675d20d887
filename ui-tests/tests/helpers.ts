/**
 * Shared steps of the jupyter-mlp Galata tests: jobs and files made through
 * the real REST APIs, the panel and the launch form opened the way a person does.
 */
import { expect } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';
import { spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

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

/**
 * The WCAG 2 contrast ratio of an element's text against what is behind it:
 * the backgrounds of the element and its ancestors, laid over each other up to
 * the first opaque one, with the text's own alpha blended over them.
 */
export function contrastRatio(element: Locator): Promise<number> {
  return element.evaluate(el => {
    // A canvas reads any CSS colour syntax (rgb(), color(srgb ...)) as RGBA bytes.
    const context = document.createElement('canvas').getContext('2d')!;
    const rgba = (css: string): number[] => {
      context.clearRect(0, 0, 1, 1);
      context.fillStyle = css;
      context.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = context.getImageData(0, 0, 1, 1).data;
      return [r, g, b, a / 255];
    };
    const over = (top: number[], under: number[]) =>
      under.slice(0, 3).map((v, i) => top[i] * top[3] + v * (1 - top[3]));
    const layers: number[][] = [];
    for (let node: Element | null = el; node; node = node.parentElement) {
      const layer = rgba(getComputedStyle(node).backgroundColor);
      if (layer[3] > 0) {
        layers.push(layer);
      }
      if (layer[3] === 1) {
        break;
      }
    }
    const background = layers.reduceRight(
      (under, top) => over(top, under),
      [255, 255, 255]
    );
    const text = over(rgba(getComputedStyle(el).color), background);
    const luminance = (rgb: number[]) => {
      const [r, g, b] = rgb.map(v => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const [light, dark] = [luminance(text), luminance(background)].sort(
      (a, b) => b - a
    );
    return (light + 0.05) / (dark + 0.05);
  });
}

/** A Jupyter server a spec started itself (with settings of its own). */
export interface IStartedServer {
  url: string;
  stop: () => Promise<void>;
}

/**
 * Start another JupyterLab from this folder's test configuration on a free
 * port, with `env` added (e.g. MLP_UI_CLOUD=1 for the cloud stand-ins), and
 * wait until it serves the lab page.
 */
export async function startServer(
  env: Record<string, string>
): Promise<IStartedServer> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve((address as net.AddressInfo).port));
    });
  });
  const output: string[] = [];
  const server = spawn(
    'jupyter',
    ['lab', '--config', 'jupyter_server_test_config.py', '--no-browser'],
    {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, ...env, MLP_UI_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe']
    }
  );
  server.stdout?.on('data', chunk => output.push(String(chunk)));
  server.stderr?.on('data', chunk => output.push(String(chunk)));
  const url = `http://localhost:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (server.exitCode !== null) {
      throw new Error(`the server ended early:\n${output.join('')}`);
    }
    try {
      if ((await fetch(`${url}/lab`)).ok) {
        break;
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      server.kill('SIGKILL');
      throw new Error(`the server never answered:\n${output.join('')}`);
    }
    await new Promise(resolve => setTimeout(resolve, 500));
  }
  const stop = async () => {
    if (server.exitCode !== null) {
      return;
    }
    const ended = new Promise(resolve => server.once('exit', resolve));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await ended;
    clearTimeout(timer);
  };
  return { url, stop };
}
