import type { ICloudCatalog } from '../api';
import { isAdvancedField, showsAdvanced } from '../submit/AdvancedSection';
import { nextRegion } from '../submit/FallbacksEditor';
import {
  NO_FALLBACK,
  durationOf,
  optionValues,
  optionsFromSpec,
  optionsSet,
  withOptions
} from '../submit/launchOptions';
import { BACKENDS } from './fixtures/backends';

const [local, vertex, dataflow] = BACKENDS;
const NEW = optionsFromSpec(undefined);

describe('the launch options as the form holds them', () => {
  it('shows a duration in the largest unit that holds it whole', () => {
    expect(durationOf(5400)).toEqual({ amount: '90', unit: 'minutes' });
    expect(durationOf(7 * 86400)).toEqual({ amount: '7', unit: 'days' });
    expect(durationOf(61)).toEqual({ amount: '61', unit: 'seconds' });
    expect(durationOf(null)).toEqual({ amount: '', unit: 'hours' });
  });

  it('sends typed numbers as numbers, and text that is none as it is, for the server to name', () => {
    const values = optionValues({
      ...NEW,
      timeout: { amount: '1.5', unit: 'hours' },
      bootDiskSizeGb: 'lots',
      maxCostUsd: ' 12.5 ',
      maxPreemptions: ''
    });
    expect(values['scheduling.timeout_seconds']).toBe(5400);
    expect(values['resources.boot_disk_size_gb']).toBe('lots');
    expect(values['scheduling.max_cost_usd']).toBe(12.5);
    expect(values['scheduling.max_preemptions']).toBe(3);
  });

  it('sends the wait for capacity with Flex-start only', () => {
    const wait = { amount: '2', unit: 'hours' as const };
    expect(
      optionValues({ ...NEW, maxWait: wait })['scheduling.max_wait_seconds']
    ).toBeNull();
    expect(
      optionValues({ ...NEW, strategy: 'flex_start', maxWait: wait })[
        'scheduling.max_wait_seconds'
      ]
    ).toBe(7200);
  });

  it('writes the alternatives in their order, each with every field', () => {
    const spec = withOptions(
      { kind: 'train', source: { path: 'a.py' } },
      {
        ...NEW,
        fallbacks: [
          { ...NO_FALLBACK, strategy: 'flex_start' },
          { ...NO_FALLBACK, region: 'europe-west4', accelerator_count: '2' }
        ]
      },
      vertex.capabilities,
      null
    );
    expect(spec.scheduling).toEqual({
      fallbacks: [
        {
          region: null,
          machine_type: null,
          accelerator_type: null,
          accelerator_count: null,
          strategy: 'flex_start'
        },
        {
          region: 'europe-west4',
          machine_type: null,
          accelerator_type: null,
          accelerator_count: 2,
          strategy: null
        }
      ]
    });
  });

  it('tells which options a spec sets, to open the section for a rerun', () => {
    expect(optionsSet({ kind: 'train', source: { code: '' } })).toEqual([]);
    expect(
      optionsSet({
        kind: 'etl',
        source: { code: '' },
        scheduling: { strategy: 'standard', max_preemptions: 3 },
        dataflow: { flexrs: true }
      })
    ).toEqual(['dataflow.flexrs']);
  });

  it('is shown for a backend that takes options, with its errors at its fields', () => {
    expect(showsAdvanced(vertex.capabilities)).toBe(true);
    expect(showsAdvanced(dataflow.capabilities)).toBe(true);
    expect(showsAdvanced(local.capabilities)).toBe(false);
    expect(isAdvancedField('scheduling.fallbacks[1].region')).toBe(true);
    expect(isAdvancedField('labels')).toBe(true);
    expect(isAdvancedField('resources.machine_type')).toBe(false);
  });
});

describe('another region to try', () => {
  const catalog = {
    default_region: 'us-central1',
    regions: ['asia-east1', 'europe-west4', 'us-central1', 'us-east1'],
    gpu_regions: ['asia-east1', 'europe-west4', 'us-central1', 'us-east1'],
    accelerators: [
      {
        type: 'NVIDIA_L4',
        regions: ['europe-west4', 'us-central1', 'us-east1']
      }
    ]
  } as unknown as ICloudCatalog;

  it('is one not yet tried that offers the job’s accelerator', () => {
    expect(nextRegion(catalog, '', [], 'NVIDIA_L4')).toBe('europe-west4');
    expect(
      nextRegion(
        catalog,
        'us-central1',
        [{ ...NO_FALLBACK, region: 'europe-west4' }],
        'NVIDIA_L4'
      )
    ).toBe('us-east1');
    expect(nextRegion(catalog, 'us-central1', [])).toBe('asia-east1');
    expect(nextRegion(null, 'us-central1', [])).toBe('');
  });
});
