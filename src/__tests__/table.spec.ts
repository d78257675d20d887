import type { IJob } from '../api';
import { job } from './fixtures/job';
import {
  IParameterValues,
  filterBySource,
  formatJobRef,
  formatMetric,
  metricColumn,
  metricNames,
  nextSort,
  parameterColumn,
  parameterNames,
  parameterValue,
  sortJobs,
  sourcesOf
} from '../table/columns';

const NOW = Date.parse('2026-01-01T01:00:00Z');

const a = job({
  id: 'a',
  name: 'alpha',
  state: 'FAILED',
  created_at: '2026-01-01T00:01:00Z',
  started_at: '2026-01-01T00:01:00Z',
  ended_at: '2026-01-01T00:31:00Z'
});
const b = job({
  id: 'b',
  name: 'Beta',
  state: 'RUNNING',
  created_at: '2026-01-01T00:02:00Z',
  started_at: '2026-01-01T00:50:00Z'
});
const c = job({
  id: 'c',
  name: 'gamma',
  state: 'QUEUED',
  created_at: '2026-01-01T00:03:00Z'
});
const ids = (jobs: readonly IJob[]) => jobs.map(j => j.id);
const given = (values: Record<string, unknown>): IParameterValues => ({
  given: values,
  defaults: {}
});

describe('sortJobs', () => {
  it('sorts names without regard to case', () => {
    expect(
      ids(sortJobs([c, b, a], { column: 'name', ascending: true }, NOW))
    ).toEqual(['a', 'b', 'c']);
  });

  it('sorts states in the order a job lives through them', () => {
    expect(
      ids(sortJobs([a, b, c], { column: 'state', ascending: true }, NOW))
    ).toEqual(['c', 'b', 'a']);
  });

  it('puts jobs that never started last, whichever the direction', () => {
    const up = sortJobs(
      [c, a, b],
      { column: 'duration', ascending: true },
      NOW
    );
    const down = sortJobs(
      [c, a, b],
      { column: 'duration', ascending: false },
      NOW
    );
    expect(ids(up)).toEqual(['b', 'a', 'c']);
    expect(ids(down)).toEqual(['a', 'b', 'c']);
  });

  it('sorts a numeric parameter as numbers, not as text', () => {
    const parameters = new Map<string, IParameterValues>([
      ['a', given({ lr: 0.1 })],
      ['b', given({ lr: 0.02 })],
      ['c', given({ lr: 1e-3 })]
    ]);
    expect(
      ids(
        sortJobs(
          [a, b, c],
          { column: parameterColumn('lr'), ascending: true },
          NOW,
          parameters
        )
      )
    ).toEqual(['c', 'b', 'a']);
  });
});

describe('parameterNames', () => {
  it('lists every parameter once, in the order first seen', () => {
    const parameters = new Map<string, IParameterValues>([
      ['a', given({ lr: 0.1, epochs: 3 })],
      ['b', { given: { epochs: 5 }, defaults: { seed: 1 } }]
    ]);
    expect(parameterNames([a, b, c], parameters)).toEqual([
      'lr',
      'epochs',
      'seed'
    ]);
  });
});

describe('parameter defaults', () => {
  const parameters = new Map<string, IParameterValues>([
    ['a', given({ lr: 0.05 })],
    ['b', { given: {}, defaults: { lr: 0.01 } }],
    ['c', given({ lr: 0.1 })]
  ]);

  it('tells a default from a given value', () => {
    expect(parameterValue(parameters.get('b'), 'lr')).toEqual({
      value: 0.01,
      isDefault: true
    });
    expect(parameterValue(parameters.get('a'), 'lr')).toEqual({
      value: 0.05,
      isDefault: false
    });
    expect(parameterValue(parameters.get('a'), 'epochs')).toBeUndefined();
  });

  it('sorts a default as the value it is: 0.01 before 0.05', () => {
    const sort = { column: parameterColumn('lr'), ascending: true };
    expect(ids(sortJobs([a, b, c], sort, NOW, parameters))).toEqual([
      'b',
      'a',
      'c'
    ]);
  });
});

describe('metric columns', () => {
  const point = (value: number, step: number) => ({ value, step });
  const m1 = job({
    id: 'm1',
    metrics: { accuracy: [point(0.5, 1), point(0.91, 2)], loss: [point(2, 2)] }
  });
  const m2 = job({ id: 'm2', metrics: { accuracy: [point(0.87, 5)] } });
  const m3 = job({ id: 'm3' });

  it('names each reported metric once, in the order first seen', () => {
    expect(metricNames([m3, m1, m2])).toEqual(['accuracy', 'loss']);
  });

  it("sorts by each metric's last value, jobs without it last", () => {
    const up = { column: metricColumn('accuracy'), ascending: true };
    expect(ids(sortJobs([m3, m1, m2], up, NOW))).toEqual(['m2', 'm1', 'm3']);
    const down = { column: metricColumn('accuracy'), ascending: false };
    expect(ids(sortJobs([m3, m2, m1], down, NOW))).toEqual(['m1', 'm2', 'm3']);
  });

  it('shows four significant digits', () => {
    expect(formatMetric(0.912345)).toBe('0.9123');
    expect(formatMetric(12)).toBe('12');
    expect(formatMetric(null)).toBe('');
  });
});

describe('sources', () => {
  const nb = (id: string, path: string) =>
    job({ id, spec: { kind: 'train', source: { path } } });
  const train = nb('t1', 'train.ipynb');
  const etl = nb('e1', 'etl/clean.py');
  const train2 = nb('t2', 'train.ipynb');
  const cell = job({ id: 'x1' });

  it('lists each source once, inline code as "cell"', () => {
    expect(sourcesOf([train, cell, etl, train2])).toEqual([
      'cell',
      'etl/clean.py',
      'train.ipynb'
    ]);
  });

  it("keeps one source's jobs, and their parameter columns apart", () => {
    const shown = filterBySource([train, etl, train2, cell], 'train.ipynb');
    expect(ids(shown)).toEqual(['t1', 't2']);
    const parameters = new Map<string, IParameterValues>([
      ['t1', given({ lr: 0.1 })],
      ['t2', { given: {}, defaults: { lr: 0.01, epochs: 1 } }],
      ['e1', given({ nosuch: 1 })]
    ]);
    expect(parameterNames(shown, parameters)).toEqual(['lr', 'epochs']);
    expect(filterBySource([train, etl], null)).toHaveLength(2);
  });
});

describe('formatJobRef', () => {
  it('names the job and the start of its id', () => {
    expect(formatJobRef({ id: '7582d1a9c0', name: 'baseline' })).toBe(
      'baseline (7582d1)'
    );
  });
});

describe('nextSort', () => {
  it('flips the direction on a second click', () => {
    expect(nextSort({ column: 'name', ascending: true }, 'name')).toEqual({
      column: 'name',
      ascending: false
    });
  });

  it('starts a new column ascending, except times (newest first)', () => {
    const current = { column: 'name' as const, ascending: true };
    expect(nextSort(current, 'cost').ascending).toBe(true);
    expect(nextSort(current, 'created').ascending).toBe(false);
  });
});
