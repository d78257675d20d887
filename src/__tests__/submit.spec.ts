import type { ICloudCatalog } from '../api';
import {
  changedParameters,
  parameterRows,
  parseParameter,
  parsePythonLiteral
} from '../submit/parameters';
import {
  acceleratorChoices,
  countChoices,
  fillForMachine
} from '../submit/picker';

const catalog = {
  backend: 'vertex',
  region: null,
  default_region: 'us-central1',
  regions: ['us-central1', 'europe-west4'],
  as_of: '2026-11-26',
  prices_as_of: '2026-11-26',
  prices_are_estimates: true,
  machine_types: [
    {
      name: 'e2-standard-4',
      family: 'e2',
      vcpus: 4,
      memory_gb: 16,
      accelerators: [],
      hourly_usd: 0.15
    },
    {
      name: 'n1-standard-8',
      family: 'n1',
      vcpus: 8,
      memory_gb: 30,
      accelerators: [{ type: 'NVIDIA_TESLA_T4', counts: [1, 2, 4] }],
      hourly_usd: 0.44
    },
    {
      name: 'a2-highgpu-2g',
      family: 'a2',
      vcpus: 24,
      memory_gb: 170,
      accelerators: [{ type: 'NVIDIA_TESLA_A100', counts: [2] }],
      hourly_usd: 1.7
    }
  ],
  accelerators: [
    {
      type: 'NVIDIA_TESLA_T4',
      short_name: 'T4',
      regions: ['us-central1', 'europe-west4'],
      hourly_usd: 0.4
    },
    {
      type: 'NVIDIA_TESLA_A100',
      short_name: 'A100',
      regions: ['us-central1'],
      hourly_usd: 2.9
    }
  ]
} as ICloudCatalog;

describe('the resource picker', () => {
  it('enables only the accelerators a machine type takes', () => {
    const choices = acceleratorChoices(catalog, 'n1-standard-8', '');
    expect(choices.filter(c => !c.disabled).map(c => c.value)).toEqual([
      '',
      'NVIDIA_TESLA_T4'
    ]);
    const a100 = choices.find(c => c.value === 'NVIDIA_TESLA_A100')!;
    expect(a100.reason).toMatch(/n1-standard-8 takes 1\/2\/4 T4, not A100/);
  });

  it('refuses "no accelerator" on a machine that comes with its own', () => {
    const none = acceleratorChoices(catalog, 'a2-highgpu-2g', '')[0];
    expect(none.disabled).toBe(true);
    expect(none.reason).toBe('a2-highgpu-2g comes with 2 A100');
  });

  it('disables accelerators not offered in the chosen region', () => {
    const a100 = acceleratorChoices(
      catalog,
      'a2-highgpu-2g',
      'europe-west4'
    ).find(c => c.value === 'NVIDIA_TESLA_A100')!;
    expect(a100.disabled).toBe(true);
    expect(a100.reason).toMatch(/not offered in europe-west4/);
  });

  it('offers every known count and disables those the machine does not take', () => {
    const counts = countChoices(catalog, 'a2-highgpu-2g', 'NVIDIA_TESLA_A100');
    expect(counts.map(c => [c.value, c.disabled])).toEqual([[2, false]]);
    const t4 = countChoices(catalog, 'e2-standard-4', 'NVIDIA_TESLA_T4');
    expect(t4.every(c => c.disabled)).toBe(true);
    expect(t4[0].reason).toBe('e2-standard-4 takes no T4');
  });

  it('fills in built-in accelerators only when none was chosen', () => {
    const empty = { accelerator_type: '', accelerator_count: 0 };
    expect(fillForMachine(catalog, 'a2-highgpu-2g', empty)).toEqual({
      accelerator_type: 'NVIDIA_TESLA_A100',
      accelerator_count: 2
    });
    const chosen = {
      accelerator_type: 'NVIDIA_TESLA_A100',
      accelerator_count: 1
    };
    expect(fillForMachine(catalog, 'a2-highgpu-2g', chosen)).toBe(chosen);
  });
});

describe('notebook parameters', () => {
  it('reads Python literals as JSON', () => {
    expect(parsePythonLiteral("{'a': (1, 2.5), 'b': [True, None]}")).toEqual({
      a: [1, 2.5],
      b: [true, null]
    });
    expect(parsePythonLiteral("'it\\'s'")).toBe("it's");
    expect(parsePythonLiteral('os.environ["X"]')).toBeUndefined();
  });

  it('keeps numbers numbers, bools bools and lists lists', () => {
    expect(parseParameter('7', 'int')).toEqual({ value: 7 });
    expect(parseParameter('7.5', 'int')).toEqual({
      error: "'7.5' is not a whole number"
    });
    expect(parseParameter('0.01', 'float')).toEqual({ value: 0.01 });
    expect(parseParameter('false', 'bool')).toEqual({ value: false });
    expect(parseParameter('[1, "a"]', 'list')).toEqual({ value: [1, 'a'] });
    expect(parseParameter('7', 'str')).toEqual({ value: '7' });
  });

  it('sends only the parameters changed from their defaults', () => {
    const rows = parameterRows([
      { name: 'epochs', type: 'int', default: '3', help: '' },
      { name: 'name', type: 'str', default: "'run'", help: '' },
      { name: 'layers', type: 'list', default: '[64, 32]', help: '' }
    ]);
    expect(rows.map(r => r.text)).toEqual(['3', 'run', '[64,32]']);
    rows[0].text = '5';
    expect(changedParameters(rows)).toEqual({
      values: { epochs: 5 },
      errors: {}
    });
  });
});
