import * as React from 'react';

import type { IPreflightCheck } from '../api';
import { PreflightChecks } from '../submit/PreflightChecks';

/** React's own renderer (the project has no types for react-dom). */
const { createRoot } = jest.requireActual<{
  createRoot(node: Element): { render(element: React.ReactElement): void };
}>('react-dom/client');

/** Render the checks `load` answers; resolves once `ready` is true of the host. */
async function render(
  load: () => Promise<IPreflightCheck[]>,
  ready: (host: HTMLElement) => boolean
): Promise<HTMLElement> {
  const host = document.createElement('div');
  document.body.appendChild(host);
  createRoot(host).render(React.createElement(PreflightChecks, { load }));
  for (let i = 0; i < 100 && !ready(host); i++) {
    await new Promise(resolve => setTimeout(resolve, 20));
  }
  return host;
}

const rows = (host: HTMLElement) =>
  Array.from(host.querySelectorAll('li')).map(li => li.textContent);

describe('the checks before a launch', () => {
  it('shows each check passed, failed or not known, with the fix', async () => {
    const load = jest.fn(async (): Promise<IPreflightCheck[]> => [
      {
        id: 'api',
        title: 'Vertex AI API enabled',
        status: 'pass',
        detail: 'aiplatform.googleapis.com is enabled in p',
        fix: ''
      },
      {
        id: 'gpu-quota',
        title: 'NVIDIA_TESLA_T4 quota in us-central1',
        status: 'fail',
        detail: '2 NVIDIA_TESLA_T4 GPUs asks more than the limit (0)',
        fix: 'request more custom_model_training_nvidia_t4_gpus in us-central1'
      },
      {
        id: 'act-as',
        title: 'May act as sa@p.iam.gserviceaccount.com',
        status: 'unknown',
        detail: 'could not look: IAM: PERMISSION_DENIED',
        fix: ''
      }
    ]);
    const host = await render(load, node => rows(node).length === 3);
    expect(rows(host)).toEqual([
      '✓Passed: Vertex AI API enabledaiplatform.googleapis.com is enabled in p',
      '✗Failed: NVIDIA_TESLA_T4 quota in us-central12 NVIDIA_TESLA_T4 GPUs asks ' +
        'more than the limit (0)Fix: request more ' +
        'custom_model_training_nvidia_t4_gpus in us-central1',
      '?Not known: May act as sa@p.iam.gserviceaccount.com' +
        'could not look: IAM: PERMISSION_DENIED'
    ]);
    expect(
      Array.from(host.querySelectorAll('li')).map(li => li.className)
    ).toEqual([
      'jp-mlp-Preflight-check jp-mod-pass',
      'jp-mlp-Preflight-check jp-mod-fail',
      'jp-mlp-Preflight-check jp-mod-unknown'
    ]);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('says the launch is being checked, then shows nothing for a local job', async () => {
    let answer: (checks: IPreflightCheck[]) => void = () => undefined;
    const host = await render(
      () => new Promise(resolve => (answer = resolve)),
      node => node.textContent !== ''
    );
    expect(host.textContent).toBe(
      'Checking credentials, permissions and quotas…'
    );
    answer([]);
    for (let i = 0; i < 100 && host.textContent !== ''; i++) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    expect(host.textContent).toBe('');
  });

  it('says when the server could not check, without stopping the submit', async () => {
    const host = await render(
      async () => {
        throw new Error('the server did not answer');
      },
      node => node.textContent?.includes('could not be checked') ?? false
    );
    expect(host.textContent).toBe(
      'The launch could not be checked beforehand (the server did not answer); ' +
        'you may still submit.'
    );
  });
});
