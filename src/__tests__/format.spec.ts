import { job } from './fixtures/job';
import {
  formatDuration,
  formatJobCost,
  formatJobDuration,
  formatState,
  jobDurationMs,
  pathParts
} from '../panel/format';

describe('formatDuration', () => {
  it.each([
    [0, '<1s'],
    [999, '<1s'],
    [1000, '1s'],
    [59_999, '59s'],
    [65_000, '1m 05s'],
    [3_600_000 + 4 * 60_000, '1h 04m'],
    [3 * 86_400_000 + 2 * 3_600_000, '3d 02h']
  ])('shows %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('never shows a negative duration', () => {
    expect(formatDuration(-5000)).toBe('<1s');
  });
});

describe('jobDurationMs', () => {
  const started = '2026-01-01T00:00:00Z';
  const start = Date.parse(started);

  it('is null before the job started', () => {
    expect(jobDurationMs(job({}), start)).toBeNull();
  });

  it('counts up to now while the job runs', () => {
    const running = job({ state: 'RUNNING', started_at: started });
    expect(jobDurationMs(running, start + 42_000)).toBe(42_000);
  });

  it('stops at the end time once the job ended', () => {
    const done = job({
      state: 'SUCCEEDED',
      started_at: started,
      ended_at: '2026-01-01T00:01:00+00:00'
    });
    expect(jobDurationMs(done, start + 999_999)).toBe(60_000);
  });

  it('shows a dash for jobs that never started', () => {
    expect(formatJobDuration(job({ state: 'CANCELLED' }), start)).toBe('—');
  });
});

describe('formatJobCost', () => {
  const started = '2026-01-01T00:00:00Z';
  const start = Date.parse(started);
  const cost = {
    usd_per_hour: 2.5,
    usd_so_far: 0,
    prices_as_of: '2026-11-26',
    estimate: true
  };

  it('has none for a job without prices (a local job)', () => {
    expect(formatJobCost(job({ started_at: started }), start)).toBeNull();
  });

  it('ticks with the time a cloud job has run', () => {
    const running = job({ state: 'RUNNING', started_at: started, cost });
    expect(formatJobCost(running, start + 30 * 60_000)).toBe('≈ $1.25');
    expect(formatJobCost(running, start + 60 * 60_000)).toBe('≈ $2.50');
  });

  it('is nothing yet for a queued cloud job', () => {
    expect(formatJobCost(job({ cost }), start)).toBe('≈ $0.00');
  });
});

describe('formatState', () => {
  it('writes a state word in sentence case', () => {
    expect(formatState('RUNNING')).toBe('Running');
  });
});

describe('pathParts', () => {
  it('cuts a path after each slash, keeping every character', () => {
    expect(pathParts('/tmp/mlp-jobs/run-1/job.log')).toEqual([
      '/',
      'tmp/',
      'mlp-jobs/',
      'run-1/',
      'job.log'
    ]);
  });

  it('keeps a trailing slash on the last folder', () => {
    expect(pathParts('out/model/')).toEqual(['out/', 'model/']);
  });
});
