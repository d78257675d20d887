import { compareRows, metricSeries } from '../compare/compareModel';
import { job } from './fixtures/job';

const NOW = Date.parse('2026-01-01T01:00:00Z');
const spec = (parameters: Record<string, unknown>) => ({
  kind: 'train' as const,
  source: { path: 'train.ipynb' },
  parameters
});
const baseline = job({
  id: '7582d1aa',
  name: 'baseline',
  state: 'SUCCEEDED',
  spec: spec({ epochs: 3 }),
  parameter_defaults: { lr: 0.01 },
  metrics: {
    accuracy: [
      { value: 0.8, step: 1 },
      { value: 0.9, step: 2 }
    ]
  }
});
const faster = job({
  id: 'b11e0f00',
  name: 'faster',
  state: 'SUCCEEDED',
  spec: spec({ epochs: 3, lr: 0.05 }),
  rerun_of: { id: '7582d1aa', name: 'baseline' },
  metrics: { accuracy: [{ value: 0.93, step: 2 }] }
});
const byKey = (jobs = [baseline, faster]) =>
  new Map(compareRows(jobs, NOW).map(row => [row.key, row]));

describe('compareRows', () => {
  it('highlights the changed parameter, not the shared one', () => {
    const rows = byKey();
    expect(rows.get('param:lr')?.differs).toBe(true);
    expect(rows.get('param:epochs')?.differs).toBe(false);
    expect(rows.get('source')?.differs).toBe(false);
  });

  it('marks a default and shows its value', () => {
    expect(byKey().get('param:lr')?.cells).toEqual([
      { text: '0.01', isDefault: true },
      { text: '0.05', isDefault: false }
    ]);
  });

  it('does not count a default as a difference from the same value given', () => {
    const explicit = job({
      ...faster,
      id: 'c0ffee00',
      spec: spec({ epochs: 3, lr: 0.01 })
    });
    expect(byKey([baseline, explicit]).get('param:lr')?.differs).toBe(false);
  });

  it("compares each metric's last value", () => {
    const accuracy = byKey().get('metric:accuracy');
    expect(accuracy?.cells.map(cell => cell.text)).toEqual(['0.9', '0.93']);
    expect(accuracy?.differs).toBe(true);
  });

  it('says which run a rerun came from, only when one is', () => {
    expect(
      byKey()
        .get('rerun')
        ?.cells.map(cell => cell.text)
    ).toEqual(['', 'baseline (7582d1)']);
    expect(byKey([baseline, baseline]).has('rerun')).toBe(false);
  });
});

describe('metricSeries', () => {
  it("lists each run's reports, empty for a run without the metric", () => {
    expect(
      metricSeries([baseline, faster, job({})], 'accuracy').map(s => s.length)
    ).toEqual([2, 1, 0]);
  });
});
