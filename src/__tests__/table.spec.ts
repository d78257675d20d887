import type { IJob } from '../api';
import { job } from './fixtures/job';
import {
  nextSort,
  parameterColumn,
  parameterNames,
  sortJobs
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
const ids = (jobs: IJob[]) => jobs.map(j => j.id);

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
    const parameters = new Map<string, Record<string, unknown>>([
      ['a', { lr: 0.1 }],
      ['b', { lr: 0.02 }],
      ['c', { lr: 1e-3 }]
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
    const parameters = new Map<string, Record<string, unknown>>([
      ['a', { lr: 0.1, epochs: 3 }],
      ['b', { epochs: 5, seed: 1 }]
    ]);
    expect(parameterNames([a, b, c], parameters)).toEqual([
      'lr',
      'epochs',
      'seed'
    ]);
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
