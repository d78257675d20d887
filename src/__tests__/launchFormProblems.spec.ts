import type { ICloudCatalog, IFieldError, IFolderEntry } from '../api';
import { completions, folderOf, runnableEntries } from '../submit/files';
import { NO_DEFAULTS, emptyForm, resourceErrors } from '../submit/formModel';
import { machineGroups, withRegionPrices } from '../submit/picker';
import {
  UNTOUCHED,
  fieldLabel,
  problemSummary,
  shownProblems,
  touch,
  typingIn
} from '../submit/problems';
import { capabilities } from './fixtures/capabilities';
import { E2_STANDARD_4, N1_STANDARD_8 } from './fixtures/machines';

const NO_PATH: IFieldError = {
  field: 'source.path',
  message: 'Give a notebook or script to run.'
};
const NO_METRIC: IFieldError = {
  field: 'sweep.metric.name',
  message: 'Give the metric the sweep optimizes.'
};
const WRONG_COUNT: IFieldError = {
  field: 'resources.accelerator_count',
  message: 'n1-standard-8 takes 1, 2 or 4 T4'
};
const OPTION: IFieldError = { field: 'labels', message: 'bad label' };
const hasInput = (field: string) => field !== 'labels';
const ALL = [NO_PATH, NO_METRIC, WRONG_COUNT, OPTION];

describe('which problems the launch form shows', () => {
  it('shows none before any input', () => {
    expect(shownProblems(ALL, UNTOUCHED, hasInput)).toEqual([]);
  });

  it('shows a field’s problems once it was touched, and no other field’s', () => {
    const touched = touch(UNTOUCHED, 'sweep.metric.name');
    expect(shownProblems(ALL, touched, hasInput)).toEqual([NO_METRIC, OPTION]);
  });

  it('shows the count’s problem once another resource changed', () => {
    const touched = touch(UNTOUCHED, 'resources.machine_type');
    expect(shownProblems([WRONG_COUNT], touched, hasInput)).toEqual([
      WRONG_COUNT
    ]);
  });

  it('holds a path’s problems while it is typed, and shows them once left', () => {
    const typing = typingIn(touch(UNTOUCHED, 'source.path'), 'source.path');
    expect(shownProblems([NO_PATH], typing, hasInput)).toEqual([]);
    expect(shownProblems([NO_PATH], typingIn(typing, null), hasInput)).toEqual([
      NO_PATH
    ]);
  });

  it('shows every problem after a submit attempt', () => {
    const attempted = { ...UNTOUCHED, attempted: true };
    expect(shownProblems(ALL, attempted, hasInput)).toEqual(ALL);
  });
});

describe('the summary of what blocks Submit', () => {
  it('counts the problems and names each field once, in order', () => {
    const summary = problemSummary([
      NO_PATH,
      NO_METRIC,
      { ...NO_METRIC, message: 'another' }
    ]);
    expect(summary?.text).toBe('3 problems:');
    expect(summary?.fields.map(f => f.label)).toEqual(['Source', 'Metric']);
  });

  it('says nothing when nothing blocks', () => {
    expect(problemSummary([])).toBeNull();
  });

  it('names parameters by their names and other fields in words', () => {
    expect(fieldLabel('parameters.lr')).toBe('lr');
    expect(fieldLabel('scheduling.max_wait_seconds')).toBe('Max wait seconds');
  });
});

describe('replicas', () => {
  const vertex = capabilities({
    remote: true,
    resource_fields: ['machine_type', 'replica_count']
  });
  const cloud = { machine_types: [] } as unknown as ICloudCatalog;
  const form = (replica_count: number) => {
    const state = emptyForm(NO_DEFAULTS, 'train.py');
    return { ...state, resources: { ...state.resources, replica_count } };
  };

  it('refuses no replicas, at the replicas field', () => {
    expect(resourceErrors(form(0), cloud, vertex)).toEqual({
      'resources.replica_count': 'A job runs on at least 1 replica, not 0.'
    });
  });

  it('takes one or more', () => {
    expect(resourceErrors(form(1), cloud, vertex)).toEqual({});
  });

  it('asks nothing of a pipeline, which has workers', () => {
    const dataflow = capabilities({ resource_fields: ['max_workers'] });
    expect(resourceErrors(form(0), cloud, dataflow)).toEqual({});
  });
});

describe('prices in the chosen region', () => {
  const base = {
    backend: 'vertex',
    region: null,
    default_region: 'us-central1',
    regions: ['us-central1', 'asia-east1'],
    machine_types: [E2_STANDARD_4, N1_STANDARD_8],
    accelerators: [
      {
        type: 'NVIDIA_TESLA_T4',
        short_name: 'T4',
        memory_gb: 16,
        regions: ['us-central1', 'asia-east1'],
        hourly_usd: 0.35,
        price_note: null
      }
    ]
  } as unknown as ICloudCatalog;
  const asia = {
    ...base,
    region: 'asia-east1',
    machine_types: [{ ...N1_STANDARD_8, hourly_usd: 0.437 }],
    accelerators: [{ ...base.accelerators[0], hourly_usd: 0.403 }]
  } as ICloudCatalog;

  it('lists the region’s prices in the options', () => {
    const priced = withRegionPrices(base, asia);
    const labels = machineGroups(priced).flatMap(g =>
      g.machines.map(m => m.label)
    );
    expect(labels.find(l => l.startsWith('n1-standard-8'))).toContain(
      '$0.437/h'
    );
    expect(priced.accelerators[0].hourly_usd).toBe(0.403);
  });

  it('keeps every machine, with its price where the region lists none', () => {
    const priced = withRegionPrices(base, asia);
    expect(priced.machine_types.map(m => m.name)).toEqual([
      E2_STANDARD_4.name,
      N1_STANDARD_8.name
    ]);
    expect(priced.machine_types[0].hourly_usd).toBe(E2_STANDARD_4.hourly_usd);
  });
});

describe('paths the form completes', () => {
  const entries: IFolderEntry[] = [
    { name: 'train.ipynb', path: 'train.ipynb', type: 'notebook' },
    { name: 'tools.py', path: 'tools.py', type: 'file' },
    { name: 'table.csv', path: 'table.csv', type: 'file' },
    { name: 'tests', path: 'tests', type: 'directory' },
    { name: '.tmp', path: '.tmp', type: 'directory' }
  ];

  it('offers folders, notebooks and scripts that start as typed', () => {
    expect(completions('t', entries)).toEqual([
      'tests/',
      'tools.py',
      'train.ipynb'
    ]);
    expect(completions('tr', entries)).toEqual(['train.ipynb']);
  });

  it('lists folders first and leaves hidden and other files out', () => {
    expect(runnableEntries(entries).map(e => e.name)).toEqual([
      'tests',
      'tools.py',
      'train.ipynb'
    ]);
  });

  it('reads the folder a path is typed in', () => {
    expect(folderOf('tr')).toBe('');
    expect(folderOf('data/sub/tr')).toBe('data/sub');
  });
});

describe('problems of a part of a field', () => {
  it('show once the field holding them was touched', () => {
    const range = { field: 'sweep.parameters[1].max_value', message: 'low' };
    const touched = touch(UNTOUCHED, 'sweep.parameters');
    expect(shownProblems([range], touched, () => true)).toEqual([range]);
    expect(
      shownProblems([range], touch(UNTOUCHED, 'sweep'), () => true)
    ).toEqual([range]);
    expect(
      shownProblems([range], touch(UNTOUCHED, 'sweep.param'), () => true)
    ).toEqual([]);
  });
});
