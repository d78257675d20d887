import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext } from '@playwright/test';

import { openPanel } from './helpers';

/** How many jobs to put in the store, and the most time to spend on it. */
const WANTED = 1000;
const BUDGET_MS = 120000;
const CONCURRENCY = 8;

/** POST `{source: {code: "pass"}}` jobs, CONCURRENCY at a time, until WANTED or the budget. */
async function createJobs(request: APIRequestContext): Promise<number> {
  const started = Date.now();
  let next = 0;
  let created = 0;
  const worker = async () => {
    while (next < WANTED && Date.now() - started < BUDGET_MS) {
      const index = next++;
      const response = await request.post('/mlp/jobs', {
        data: {
          kind: 'train',
          name: `bulk-${String(index).padStart(4, '0')}`,
          source: { code: 'pass' }
        }
      });
      if (response.status() === 201) {
        created++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return created;
}

test.describe('ML jobs panel with many jobs', () => {
  test.setTimeout(300000);

  test('stays responsive with a thousand jobs in the store', async ({
    page,
    request
  }) => {
    const created = await createJobs(request);
    test.info().annotations.push({
      type: 'jobs created',
      description: String(created)
    });
    console.log(`volume: created ${created} jobs`);

    // Time from clicking the sidebar tab to the first rows on screen.
    const opened = page.evaluate(
      () =>
        new Promise<number>(resolve => {
          const start = performance.now();
          const check = () => {
            if (document.querySelector('#jupyter-mlp-panel .jp-mlp-JobRow')) {
              resolve(performance.now() - start);
            } else {
              requestAnimationFrame(check);
            }
          };
          requestAnimationFrame(check);
        })
    );
    const panel = await openPanel(page);
    const openMs = await opened;

    // Scroll to the end again and again: pages load as the end nears.
    const list = panel.locator('.jp-mlp-JobList');
    const scroll = await list.evaluate(async node => {
      const start = performance.now();
      // "Load older jobs" shows while older pages are left (or loading).
      while (
        node.querySelector('.jp-mlp-JobList-more') &&
        performance.now() - start < 60000
      ) {
        node.scrollTop = node.scrollHeight;
        await new Promise(requestAnimationFrame);
      }
      const loadedMs = performance.now() - start;
      // Then scroll through everything loaded, a screen per frame.
      const sweepStart = performance.now();
      const sweep: number[] = [];
      let last = sweepStart;
      for (let top = node.scrollHeight; top >= 0; top -= node.clientHeight) {
        node.scrollTop = top;
        await new Promise(requestAnimationFrame);
        const now = performance.now();
        sweep.push(now - last);
        last = now;
      }
      const rows = node.querySelectorAll('.jp-mlp-JobRow').length;
      return {
        loadedMs,
        sweepMs: performance.now() - sweepStart,
        sweepFrames: sweep.length,
        worstFrameMs: Math.max(...sweep),
        renderedRows: rows
      };
    });

    const report = `open ${openMs.toFixed(0)} ms; loading all ${created} by scrolling ${scroll.loadedMs.toFixed(0)} ms; sweep of ${scroll.sweepFrames} screens ${scroll.sweepMs.toFixed(0)} ms (worst frame ${scroll.worstFrameMs.toFixed(0)} ms); rows in the DOM ${scroll.renderedRows}`;
    console.log(`volume: ${report}`);
    test.info().annotations.push({ type: 'render time', description: report });

    // Windowed: only a screenful of rows is in the page, whatever the total.
    expect(scroll.renderedRows).toBeLessThan(60);
    // The oldest of the thousand is reachable: up from the end until it is on screen (jobs
    // that earlier tests made are listed after it, oldest last).
    const reached = await list.evaluate(async node => {
      for (
        let top = node.scrollHeight;
        top >= 0;
        top -= node.clientHeight / 2
      ) {
        node.scrollTop = top;
        await new Promise(requestAnimationFrame);
        await new Promise(requestAnimationFrame);
        const rows = Array.from(node.querySelectorAll('.jp-mlp-JobRow'));
        if (rows.some(row => row.textContent?.includes('bulk-0000'))) {
          return true;
        }
      }
      return false;
    });
    expect(reached).toBe(true);
    await expect(
      panel.locator('.jp-mlp-JobRow', { hasText: 'bulk-0000' }).first()
    ).toBeVisible();
  });
});
