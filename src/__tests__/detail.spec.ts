import type { IJob, IOutputEntry } from '../api';
import {
  originText,
  runParameters,
  sourceCell,
  sourceCellText,
  trialText
} from '../panel/describe';
import {
  chartPath,
  formatMetric,
  jobMetrics,
  metricSeries
} from '../panel/metrics';
import { shownOutputs } from '../panel/outputs';
import {
  progressFraction,
  progressText,
  shownProgress
} from '../panel/progress';

describe("a notebook job's progress", () => {
  const progress = {
    cells_done: 3,
    cells_total: 12,
    cell: 4,
    cell_source: 'model.fit(x, y)'
  };

  it('reads "cell 4 of 12" and is a quarter done', () => {
    expect(progressText(progress)).toBe('cell 4 of 12');
    expect(progressFraction(progress)).toBe(0.25);
  });

  it('counts the cell after those done when the runner names none', () => {
    expect(progressText({ cells_done: 0, cells_total: 5 })).toBe('cell 1 of 5');
    expect(progressText({ cells_done: 5, cells_total: 5 })).toBe('cell 5 of 5');
  });

  it('is shown only while the job runs and has cells', () => {
    expect(shownProgress({ state: 'RUNNING', progress })).toBe(progress);
    expect(shownProgress({ state: 'SUCCEEDED', progress })).toBeNull();
    expect(
      shownProgress({
        state: 'RUNNING',
        progress: { cells_done: 0, cells_total: 0 }
      })
    ).toBeNull();
    expect(shownProgress({ state: 'RUNNING', progress: null })).toBeNull();
  });
});

describe("a job's metrics", () => {
  it('run over steps, sorted, a step reported twice keeping its last value', () => {
    const series = metricSeries('loss', [
      { value: 0.9, step: 2 },
      { value: 1.2, step: 1 },
      { value: 0.7, step: 3 },
      { value: 0.6, step: 3 }
    ]);
    expect(series?.bySteps).toBe(true);
    expect(series?.points).toEqual([
      { x: 1, y: 1.2 },
      { x: 2, y: 0.9 },
      { x: 3, y: 0.6 }
    ]);
    expect(series?.last.value).toBe(0.6);
  });

  it('run over the reports when a report has no step', () => {
    const series = metricSeries('accuracy', [
      { value: 0.5, step: 1 },
      { value: 0.8 }
    ]);
    expect(series?.bySteps).toBe(false);
    expect(series?.points.map(point => point.x)).toEqual([1, 2]);
  });

  it('leave out values that are not numbers, and metrics with none', () => {
    const metrics = jobMetrics({
      b: [{ value: NaN }],
      a: [{ value: 1 }, { value: Infinity }]
    });
    expect(metrics.map(metric => metric.name)).toEqual(['a']);
    expect(metrics[0].points).toEqual([{ x: 1, y: 1 }]);
  });

  it('read short', () => {
    expect(formatMetric(0.93456)).toBe('0.9346');
    expect(formatMetric(12)).toBe('12');
    expect(formatMetric(0.00012)).toBe('1.20e-4');
    expect(formatMetric(0)).toBe('0');
  });

  it('fill the chart box, the largest value at the top', () => {
    const path = chartPath(
      [
        { x: 0, y: 0 },
        { x: 10, y: 1 }
      ],
      200,
      50
    );
    expect(path).toBe('0,50 200,0');
    expect(
      chartPath(
        [
          { x: 1, y: 3 },
          { x: 2, y: 3 }
        ],
        200,
        50
      )
    ).toBe('0,25 200,25');
  });
});

describe("a job's origin", () => {
  it('names the job a rerun came from with a short id', () => {
    expect(originText({ id: '7582d1aa90ff', name: 'baseline' })).toBe(
      'rerun of baseline (7582d1)'
    );
    expect(originText({ id: '7582d1aa90ff', name: '' })).toBe(
      'rerun of 7582d1'
    );
  });

  it('names the cell a magic job came from', () => {
    const job = {
      spec: {
        kind: 'train',
        source: {
          code: 'print(1)',
          origin: { notebook: 'work/nb.ipynb', cell_id: 'abc', cell_index: 2 }
        }
      }
    } as unknown as Pick<IJob, 'spec'>;
    const cell = sourceCell(job);
    expect(cell).toEqual({
      path: 'work/nb.ipynb',
      cellId: 'abc',
      cellIndex: 2
    });
    expect(sourceCellText(cell!)).toBe('cell 3 of nb.ipynb');
    const script = {
      spec: { kind: 'train', source: { path: 'train.py' } }
    } as unknown as Pick<IJob, 'spec'>;
    expect(sourceCell(script)).toBeNull();
  });

  it('names a trial by its number in its sweep', () => {
    const sweep = {
      id: 'sweep123456',
      name: 'tune-lr',
      trials: [
        { id: '1', job_id: 'a', state: 'SUCCEEDED', parameters: {} },
        { id: '3', job_id: 'c', state: 'RUNNING', parameters: {} }
      ]
    } as unknown as IJob;
    expect(trialText('c', sweep)).toBe('trial 3 of sweep tune-lr');
    expect(trialText('z', sweep)).toBe('a trial of sweep tune-lr');
  });
});

describe('the parameters a job ran with', () => {
  it('are the given ones and the defaults, marked, by name', () => {
    const job = {
      spec: { kind: 'train', source: {}, parameters: { lr: 0.05 } },
      parameter_defaults: { lr: '0.01', epochs: '3', optimizer: "'adam'" }
    } as unknown as IJob;
    expect(runParameters(job)).toEqual([
      { name: 'epochs', value: '3', isDefault: true },
      { name: 'lr', value: '0.05', isDefault: false },
      { name: 'optimizer', value: "'adam'", isDefault: true }
    ]);
  });
});

describe("a job's outputs", () => {
  const outputs = {
    log: 'jobs/s/log.txt',
    model_dir: 'jobs/s/model',
    executed_notebook: 'jobs/s/out.ipynb',
    folder: 'jobs/s'
  };
  const entry = (name: string, more: Partial<IOutputEntry>): IOutputEntry => ({
    name,
    path: name,
    exists: true,
    type: 'file',
    ...more
  });

  const listing = [
    entry('log', { size: 0 }),
    entry('model_dir', { type: 'directory', file_count: 0, files: [] }),
    entry('executed_notebook', { exists: false }),
    entry('folder', { type: 'directory', file_count: 4 })
  ];

  it('of an ended job leave out what is missing or empty', () => {
    const shown = shownOutputs(outputs, listing, true);
    expect(shown.map(output => output.label)).toEqual(['Output folder']);
  });

  it('of a live job leave out only what is missing', () => {
    const shown = shownOutputs(outputs, listing, false);
    expect(shown.map(output => output.key)).toEqual([
      'log',
      'model_dir',
      'folder'
    ]);
  });

  it('are all linked when the listing could not be read', () => {
    expect(shownOutputs(outputs, null, true).map(output => output.key)).toEqual(
      ['log', 'executed_notebook', 'model_dir', 'folder']
    );
  });
});
