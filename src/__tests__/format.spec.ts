import { job } from './fixtures/job';
import {
  formatCostDetail,
  formatDuration,
  formatJobCost,
  formatJobDuration,
  formatSpokenDuration,
  formatState,
  formatUsd,
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

  it('is the total once the job ended, however much later it is read', () => {
    const done = job({
      state: 'SUCCEEDED',
      started_at: started,
      ended_at: '2026-01-01T02:10:00Z',
      cost: { ...cost, ended: true, hours: 13 / 6, usd_total: 12.4 }
    });
    expect(formatJobCost(done, start + 86_400_000)).toBe('$12.40');
  });

  it("is a sweep's sum over its trials, as the server counts it", () => {
    const sweep = job({
      state: 'RUNNING',
      started_at: started,
      cost: { ...cost, usd_so_far: 0.75 },
      trials: [{ id: '1', state: 'RUNNING', parameters: {} }]
    });
    expect(formatJobCost(sweep, start + 60 * 60_000)).toBe('≈ $0.75');
  });
});

describe('formatCostDetail', () => {
  const started = '2026-01-01T00:00:00Z';
  const start = Date.parse(started);
  const cost = {
    usd_per_hour: 0.84,
    usd_so_far: 0,
    prices_as_of: '2026-11-26',
    estimate: true
  };

  it('says what a running job cost so far and at which rate', () => {
    const running = job({ state: 'RUNNING', started_at: started, cost });
    expect(formatCostDetail(running, start + 86 * 60_000)).toBe(
      '≈ $1.20 so far at $0.84/h'
    );
  });

  it('says what an ended job cost in all and how long it ran', () => {
    const done = job({
      state: 'SUCCEEDED',
      started_at: started,
      ended_at: '2026-01-01T02:10:00Z',
      cost: { ...cost, ended: true, hours: 13 / 6, usd_total: 12.4 }
    });
    expect(formatCostDetail(done, start + 86_400_000)).toBe(
      '$12.40 in 2 h 10 min'
    );
  });

  it('works out an ended total from an older server that sends none', () => {
    const done = job({
      state: 'CANCELLED',
      started_at: started,
      ended_at: '2026-01-01T01:00:00Z',
      cost
    });
    expect(formatCostDetail(done, start + 86_400_000)).toBe('$0.84 in 1 h');
  });

  it('has none for a job without prices', () => {
    expect(formatCostDetail(job({ started_at: started }), start)).toBeNull();
  });
});

describe('formatUsd and formatSpokenDuration', () => {
  it.each([
    [12.4, '$12.40'],
    [0, '$0.00'],
    [0.0001, '$0.0001']
  ])('writes %d dollars as %s', (usd, text) => {
    expect(formatUsd(usd)).toBe(text);
  });

  it.each([
    [30_000, '30 s'],
    [45 * 60_000, '45 min'],
    [3 * 3_600_000, '3 h'],
    [130 * 60_000, '2 h 10 min']
  ])('says %d ms as %s', (ms, text) => {
    expect(formatSpokenDuration(ms)).toBe(text);
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
