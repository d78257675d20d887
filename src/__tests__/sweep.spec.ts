import type { IJob, ITrial } from '../api';
import {
  ISweepChoice,
  NO_SWEEP,
  bestFirst,
  bestTrial,
  buildSweep,
  choiceFromSweep,
  formatMetric,
  formatValue,
  gridCapNote,
  gridSize,
  linearTicks,
  makeScale,
  namedSearch,
  plannedTrials,
  searchField,
  searchRows,
  sortTrials,
  startingSearch,
  sweepSummary
} from '../sweep';

function trial(
  id: string,
  metric: number | null,
  extra: Partial<ITrial> = {}
): ITrial {
  return {
    id,
    state: metric === null ? 'RUNNING' : 'SUCCEEDED',
    parameters: { lr: Number(id) / 10, depth: 5 - Number(id) },
    metric,
    ...extra
  };
}

const choice = (patch: Partial<ISweepChoice>): ISweepChoice => ({
  ...NO_SWEEP,
  enabled: true,
  metric: 'score',
  maxTrials: '4',
  parallelTrials: '2',
  ...patch
});

describe('the sweep section starts from the notebook values', () => {
  it('offers a float a log range from a tenth to ten times its value', () => {
    const search = startingSearch({ name: 'lr', type: 'float', value: 0.1 });
    expect([search.min, search.max, search.scale]).toEqual([
      '0.01',
      '1',
      'log'
    ]);
    expect(search.search).toBe('fixed');
  });

  it('offers an int a whole-number range around its value', () => {
    const search = startingSearch({ name: 'depth', type: 'int', value: 3 });
    expect([search.min, search.max, search.integer]).toEqual(['1', '6', true]);
    expect(search.scale).toBe('linear');
  });

  it('offers a float at zero or below a linear range', () => {
    const search = startingSearch({ name: 'bias', type: 'float', value: 0 });
    expect([search.min, search.max, search.scale]).toEqual([
      '-1',
      '1',
      'linear'
    ]);
  });

  it('lists a string by its value and a bool by both values', () => {
    expect(
      startingSearch({ name: 'opt', type: 'str', value: 'adam' }).values
    ).toBe('adam');
    expect(
      startingSearch({ name: 'aug', type: 'bool', value: true }).values
    ).toBe('true, false');
  });
});

describe('buildSweep', () => {
  const lr = {
    ...startingSearch({ name: 'lr', type: 'float', value: 0.1 }),
    search: 'range' as const
  };
  const depth = {
    ...startingSearch({ name: 'depth', type: 'int', value: 3 }),
    search: 'range' as const
  };
  const fixed = startingSearch({ name: 'epochs', type: 'int', value: 10 });
  const known = [
    { name: 'lr', type: 'float', value: 0.1 },
    { name: 'epochs', type: 'int', value: 10 },
    { name: 'depth', type: 'int', value: 3 },
    { name: 'opt', type: 'str', value: 'adam' },
    { name: 'aug', type: 'bool', value: true }
  ];

  it('sends nothing while the sweep is off', () => {
    expect(buildSweep({ ...NO_SWEEP, searches: [lr] })).toEqual({
      sweep: null,
      searched: [],
      errors: {}
    });
  });

  it('puts the searched parameters in the sweep, in row order, and leaves fixed ones out', () => {
    const built = buildSweep(choice({ searches: [lr, fixed, depth] }), known);
    expect(built.errors).toEqual({});
    expect(built.searched).toEqual(['lr', 'depth']);
    expect(built.sweep).toEqual({
      metric: { name: 'score', goal: 'maximize' },
      algorithm: 'bayes',
      max_trials: 4,
      parallel_trials: 2,
      parameters: [
        { name: 'lr', type: 'double', min: 0.01, max: 1, scale: 'log' },
        { name: 'depth', type: 'integer', min: 1, max: 6, scale: 'linear' }
      ]
    });
  });

  it('lists numbers as discrete values and words as categorical ones, added names last', () => {
    const built = buildSweep(
      choice({
        searches: [
          { ...namedSearch('batch'), search: 'values', values: '32, 64,128' },
          {
            ...startingSearch({ name: 'opt', type: 'str', value: 'adam' }),
            search: 'values',
            values: 'adam, sgd'
          },
          {
            ...startingSearch({ name: 'aug', type: 'bool', value: true }),
            search: 'values'
          }
        ]
      }),
      known
    );
    expect(built.sweep?.parameters).toEqual([
      { name: 'opt', type: 'categorical', values: ['adam', 'sgd'] },
      { name: 'aug', type: 'discrete', values: [1, 0] },
      { name: 'batch', type: 'discrete', values: [32, 64, 128] }
    ]);
  });

  it('names the field of each mistake as the server does', () => {
    const built = buildSweep(
      choice({
        metric: ' ',
        maxTrials: 'four',
        maxFailed: '-1',
        searches: [fixed, { ...depth, max: 'lots' }]
      }),
      known
    );
    expect(Object.keys(built.errors).sort()).toEqual([
      'sweep.max_failed_trials',
      'sweep.max_trials',
      'sweep.metric.name',
      'sweep.parameters[0].max'
    ]);
    expect(built.errors['sweep.parameters[0].max']).toContain('lots');
  });

  it('asks for a searched parameter when none is', () => {
    const built = buildSweep(choice({ searches: [fixed] }), known);
    expect(Object.keys(built.errors)).toEqual(['sweep.parameters']);
  });

  it('sends max_failed_trials only when given', () => {
    const searches = [lr];
    expect(buildSweep(choice({ searches }), known).sweep).not.toHaveProperty(
      'max_failed_trials'
    );
    expect(
      buildSweep(choice({ searches, maxFailed: '2' }), known).sweep
        ?.max_failed_trials
    ).toBe(2);
  });
});

describe('searchRows', () => {
  it('keeps a row per notebook parameter and those added by name', () => {
    const known = [{ name: 'lr', type: 'float', value: 0.1 }];
    const chosen = choice({
      searches: [
        { ...startingSearch(known[0]), search: 'range' },
        namedSearch('momentum'),
        // A parameter of another notebook, chosen before the path changed.
        {
          ...startingSearch({ name: 'old', type: 'int', value: 1 }),
          search: 'range'
        }
      ]
    });
    const rows = searchRows(chosen, known);
    expect(rows.map(r => [r.name, r.search])).toEqual([
      ['lr', 'range'],
      ['momentum', 'range']
    ]);
    expect(buildSweep(chosen, known).searched).toEqual(['lr', 'momentum']);
  });
});

describe('choiceFromSweep', () => {
  it("shows a job's sweep so that it is sent back unchanged (rerun with changes)", () => {
    const sweep = {
      metric: { name: 'val/loss', goal: 'minimize' as const },
      algorithm: 'grid' as const,
      max_trials: 6,
      parallel_trials: 3,
      max_failed_trials: 1,
      parameters: [
        {
          name: 'lr',
          type: 'double' as const,
          min: 0.001,
          max: 0.3,
          scale: 'log' as const
        },
        {
          name: 'depth',
          type: 'integer' as const,
          min: 2,
          max: 8,
          scale: 'linear' as const
        },
        { name: 'opt', type: 'categorical' as const, values: ['adam', 'sgd'] }
      ]
    };
    const known = [
      { name: 'lr', type: 'float', value: 0.1 },
      { name: 'depth', type: 'int', value: 3 },
      { name: 'opt', type: 'str', value: 'adam' }
    ];
    const built = buildSweep(choiceFromSweep(sweep), known);
    expect(built.errors).toEqual({});
    expect(built.sweep).toEqual(sweep);
  });

  it('leaves the sweep off for a job without one', () => {
    expect(choiceFromSweep(undefined).enabled).toBe(false);
  });
});

describe('searchField', () => {
  it('takes a server error back to the searched row it is about', () => {
    expect(searchField('sweep.parameters[1].max', ['lr', 'depth'])).toEqual({
      name: 'depth',
      part: 'max'
    });
    expect(searchField('sweep.parameters[0]', ['lr'])).toEqual({
      name: 'lr',
      part: ''
    });
    expect(searchField('sweep.parameters[2].min', ['lr'])).toBeNull();
    expect(searchField('sweep.metric.name', ['lr'])).toBeNull();
  });
});

describe('trials', () => {
  const trials = [
    trial('1', 0.5),
    trial('2', 0.9),
    trial('3', null),
    trial('4', 0.7)
  ];

  it('marks the highest metric best when maximizing, the lowest when minimizing', () => {
    expect(bestTrial(trials, 'maximize')?.id).toBe('2');
    expect(bestTrial(trials, 'minimize')?.id).toBe('1');
  });

  it("prefers the server's best trial", () => {
    expect(bestTrial(trials, 'maximize', '4')?.id).toBe('4');
  });

  it('never marks a failed trial best', () => {
    const failed = [trial('1', 0.5), trial('2', 0.99, { state: 'FAILED' })];
    expect(bestTrial(failed, 'maximize')?.id).toBe('1');
  });

  it('sorts best first, trials without a metric last', () => {
    const ids = (list: ITrial[]) => list.map(t => t.id);
    expect(ids(sortTrials(trials, bestFirst('maximize'), 0))).toEqual([
      '2',
      '4',
      '1',
      '3'
    ]);
    expect(ids(sortTrials(trials, bestFirst('minimize'), 0))).toEqual([
      '1',
      '4',
      '2',
      '3'
    ]);
  });

  it('sorts by a parameter and by trial number', () => {
    const ids = (list: ITrial[]) => list.map(t => t.id);
    const byDepth = sortTrials(
      trials,
      { column: { kind: 'parameter', name: 'depth' }, descending: false },
      0
    );
    expect(ids(byDepth)).toEqual(['4', '3', '2', '1']);
    const tenth = [...trials, trial('10', 0.1)];
    expect(
      ids(sortTrials(tenth, { column: { kind: 'id' }, descending: false }, 0))
    ).toEqual(['1', '2', '3', '4', '10']);
  });

  it('sorts by duration, running trials by the time so far', () => {
    const timed = [
      trial('1', 0.5, {
        started_at: '2026-01-01T00:00:00Z',
        ended_at: '2026-01-01T00:01:00Z'
      }),
      trial('2', null, { started_at: '2026-01-01T00:00:00Z' }),
      trial('3', null)
    ];
    const now = Date.parse('2026-01-01T00:00:30Z');
    const sorted = sortTrials(
      timed,
      { column: { kind: 'duration' }, descending: true },
      now
    );
    expect(sorted.map(t => t.id)).toEqual(['1', '2', '3']);
  });
});

describe('a grid caps the trial count to its size', () => {
  const grid = (maxTrials: string, values = '1, 2, 3') =>
    buildSweep(
      choice({
        algorithm: 'grid',
        maxTrials,
        parallelTrials: '1',
        searches: [{ ...namedSearch('x'), search: 'values', values }]
      })
    ).sweep!;

  it('runs a 3-value grid with max trials 10 as 3 trials, and says so', () => {
    expect(gridSize(grid('10'))).toBe(3);
    expect(plannedTrials(grid('10'))).toBe(3);
    expect(gridCapNote(grid('10'))).toBe("3 trials: the grid's size");
  });

  it('says nothing when max trials is within the grid', () => {
    expect(plannedTrials(grid('2'))).toBe(2);
    expect(gridCapNote(grid('3'))).toBeNull();
  });

  it('counts an integer range and a double range as the server does', () => {
    const sweep = buildSweep(
      choice({
        algorithm: 'grid',
        maxTrials: '100',
        parallelTrials: '1',
        searches: [
          { ...namedSearch('depth'), min: '2', max: '4', integer: true },
          { ...namedSearch('lr'), min: '0.1', max: '1' }
        ]
      })
    ).sweep!;
    expect(gridSize(sweep)).toBe(15);
    expect(gridCapNote(sweep)).toBe("15 trials: the grid's size");
  });

  it('leaves other searches at max trials', () => {
    const random = { ...grid('10'), algorithm: 'random' as const };
    expect(gridSize(random)).toBeNull();
    expect(plannedTrials(random)).toBe(10);
    expect(gridCapNote(random)).toBeNull();
  });
});

describe('sweepSummary', () => {
  const job = (patch: Partial<IJob>): IJob =>
    ({
      id: 'j1',
      spec: {
        kind: 'train',
        source: { path: 'a.ipynb' },
        sweep: {
          metric: { name: 'score', goal: 'maximize' },
          parameters: [],
          max_trials: 4
        }
      },
      ...patch
    }) as IJob;

  it('says how many trials ended of how many, and the best metric', () => {
    expect(
      sweepSummary(
        job({ trials: [trial('1', 0.9712), trial('2', 0.5), trial('3', null)] })
      )
    ).toBe('sweep · 2/4 trials · best 0.9712');
  });

  it('says the planned trials before any started', () => {
    expect(sweepSummary(job({}))).toBe('sweep · 4 trials');
  });

  it("counts a grid's trials as the grid's size", () => {
    const sweep = {
      metric: { name: 'score' },
      parameters: [{ name: 'x', type: 'discrete' as const, values: [1, 2, 3] }],
      algorithm: 'grid' as const,
      max_trials: 10
    };
    const ended = [trial('1', 0.1), trial('2', 0.2), trial('3', 0.3)];
    expect(
      sweepSummary(
        job({ spec: { kind: 'train', source: {}, sweep }, trials: ended })
      )
    ).toBe('sweep · 3/3 trials · best 0.3');
  });

  it('is nothing for a job that is no sweep', () => {
    expect(
      sweepSummary({ spec: { kind: 'train', source: {} } } as IJob)
    ).toBeNull();
  });
});

describe('chart scales', () => {
  it('maps the values into the range with a margin', () => {
    const scale = makeScale([0, 10], [0, 100]);
    expect(scale(0)).toBeGreaterThan(0);
    expect(scale(10)).toBeLessThan(100);
    expect(scale(5)).toBeCloseTo(50);
  });

  it('spreads a log scale evenly over powers of ten', () => {
    const scale = makeScale([0.01, 0.1, 1], [0, 100], true);
    expect(scale.log).toBe(true);
    expect(scale(0.1)).toBeCloseTo(50);
    expect(scale.ticks).toEqual([0.01, 0.1, 1]);
  });

  it('falls back to linear when a value is not positive', () => {
    expect(makeScale([0, 1], [0, 100], true).log).toBe(false);
  });

  it('widens a single value so its point is centred', () => {
    const scale = makeScale([0.5, 0.5], [0, 100]);
    expect(scale(0.5)).toBeCloseTo(50);
  });

  it('puts ticks on round numbers', () => {
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0.13, 0.97)).toEqual([0.2, 0.4, 0.6, 0.8]);
  });

  it('formats parameter values with four digits, whole numbers whole', () => {
    expect(formatValue(0.475278123)).toBe('0.4753');
    expect(formatValue(128)).toBe('128');
    expect(formatValue('adam')).toBe('adam');
  });

  it('formats metrics with a few digits', () => {
    expect(formatMetric(0.97123456)).toBe('0.9712');
    expect(formatMetric(null)).toBe('—');
    expect(formatMetric(0.00001234)).toBe('1.234e-5');
  });
});
