import type { IBackendInfo, ICloudCatalog } from '../api';
import {
  changedParameters,
  parameterRows,
  parseParameter,
  parsePythonLiteral,
  rowsForJob
} from '../submit/parameters';
import {
  acceleratorChoices,
  backendSettings,
  backendSetup,
  choiceNotes,
  countChoices,
  estimateLines,
  fillForMachine,
  machineGroups,
  readableMessage,
  unsaidWarnings
} from '../submit/picker';
import {
  E2_STANDARD_4,
  N1_STANDARD_8,
  A2_HIGHGPU_2G
} from './fixtures/machines';

const catalog = {
  backend: 'vertex',
  region: null,
  default_region: 'us-central1',
  regions: ['us-central1', 'europe-west4'],
  as_of: '2026-11-26',
  prices_as_of: '2026-11-26',
  prices_are_estimates: true,
  machine_types: [
    E2_STANDARD_4,
    N1_STANDARD_8,
    A2_HIGHGPU_2G,
    {
      name: 'a3-megagpu-8g',
      family: 'a3',
      vcpus: 208,
      memory_gb: 1872,
      accelerators: [{ type: 'NVIDIA_H100_MEGA_80GB', counts: [8] }],
      conditions: 'reservation, Flex-start or Spot only',
      hourly_usd: null,
      price_note: 'price not known: no Vertex AI training price read'
    }
  ],
  accelerators: [
    {
      type: 'NVIDIA_TESLA_T4',
      short_name: 'T4',
      regions: ['us-central1', 'europe-west4'],
      hourly_usd: 0.4,
      price_note: null
    },
    {
      type: 'NVIDIA_TESLA_A100',
      short_name: 'A100',
      regions: ['us-central1'],
      hourly_usd: 2.9,
      price_note: null
    },
    {
      type: 'NVIDIA_H100_MEGA_80GB',
      short_name: 'H100 Mega',
      regions: ['us-central1'],
      hourly_usd: null,
      price_note: 'price not known: no Vertex AI training price read'
    }
  ],
  not_offered: [{ type: 'NVIDIA_TESLA_K80', reason: 'end of support' }]
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

  it('fills in built-in accelerators when none was chosen', () => {
    const empty = { accelerator_type: '', accelerator_count: 0 };
    expect(fillForMachine(catalog, 'a2-highgpu-2g', empty)).toEqual({
      accelerator_type: 'NVIDIA_TESLA_A100',
      accelerator_count: 2
    });
  });

  it('replaces an accelerator the machine cannot take with its own', () => {
    const t4 = { accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 1 };
    expect(fillForMachine(catalog, 'a2-highgpu-2g', t4)).toEqual({
      accelerator_type: 'NVIDIA_TESLA_A100',
      accelerator_count: 2
    });
  });

  it("sets a built-in accelerator's count to the machine's own", () => {
    const one = { accelerator_type: 'NVIDIA_TESLA_A100', accelerator_count: 1 };
    expect(fillForMachine(catalog, 'a2-highgpu-2g', one)).toEqual({
      accelerator_type: 'NVIDIA_TESLA_A100',
      accelerator_count: 2
    });
  });

  it('drops an accelerator a machine without built-in ones cannot take', () => {
    const a100 = {
      accelerator_type: 'NVIDIA_TESLA_A100',
      accelerator_count: 2
    };
    const none = { accelerator_type: '', accelerator_count: 0 };
    expect(fillForMachine(catalog, 'n1-standard-8', a100)).toEqual(none);
    expect(fillForMachine(catalog, 'e2-standard-4', a100)).toEqual(none);
  });

  it('keeps an accelerator the machine takes, with its count', () => {
    const t4 = { accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 2 };
    expect(fillForMachine(catalog, 'n1-standard-8', t4)).toBe(t4);
  });
});

describe('server messages as the picker shows them', () => {
  it('names accelerators by their short names', () => {
    expect(
      readableMessage(
        catalog,
        'a2-highgpu-2g takes 2 NVIDIA_TESLA_A100, not NVIDIA_TESLA_T4'
      )
    ).toBe('a2-highgpu-2g takes 2 A100, not T4');
  });

  it('shortens accelerators the catalog does not list', () => {
    expect(readableMessage(null, 'NVIDIA_L4 is not offered')).toBe(
      'L4 is not offered'
    );
  });

  it('cuts a long list of names to its first four', () => {
    const machines = Array.from({ length: 17 }, (_, i) => `n1-standard-${i}`);
    expect(
      readableMessage(
        catalog,
        `machine types with NVIDIA_TESLA_T4: ${machines.join(', ')}`
      )
    ).toBe(
      'machine types with T4: n1-standard-0, n1-standard-1, n1-standard-2, n1-standard-3 and 13 more'
    );
  });

  it('says once how many more a list the server already cut has', () => {
    expect(
      readableMessage(
        catalog,
        'L4 is offered in asia-east1, europe-west1, europe-west4, us-central1, us-east1, us-west4 and 3 more'
      )
    ).toBe(
      'L4 is offered in asia-east1, europe-west1, europe-west4, us-central1 and 5 more'
    );
  });

  it('leaves a short list whole', () => {
    const text = 'attaches in counts of 1, 2, 4, not 3';
    expect(readableMessage(catalog, text)).toBe(text);
  });
});

describe('what the picker says of a choice', () => {
  const mega = {
    machine_type: 'a3-megagpu-8g',
    accelerator_type: 'NVIDIA_H100_MEGA_80GB',
    accelerator_count: 8
  };

  it('labels a machine type without a price, and gives its conditions as its title', () => {
    const a3 = machineGroups(catalog).find(g => g.family === 'a3')!.machines[0];
    expect(a3.label).toBe(
      'a3-megagpu-8g · 208 vCPU · 1872 GB · price not known'
    );
    expect(a3.reason).toBe(
      'Takes H100 Mega×8. reservation, Flex-start or Spot only'
    );
  });

  it("notes the chosen machine's conditions", () => {
    expect(choiceNotes(catalog, mega).conditions).toBe(
      'reservation, Flex-start or Spot only'
    );
    const n1 = { ...mega, machine_type: 'n1-standard-8' };
    expect(choiceNotes(catalog, n1).conditions).toBeNull();
  });

  it('notes each chosen item without a price, with why', () => {
    expect(choiceNotes(catalog, mega).unpriced).toEqual([
      { item: 'a3-megagpu-8g', why: 'no Vertex AI training price read' },
      { item: 'H100 Mega', why: 'no Vertex AI training price read' }
    ]);
    const priced = {
      machine_type: 'n1-standard-8',
      accelerator_type: 'NVIDIA_TESLA_T4',
      accelerator_count: 1
    };
    expect(choiceNotes(catalog, priced).unpriced).toEqual([]);
  });

  it('leaves out an accelerator counted zero times', () => {
    const none = { ...mega, accelerator_count: 0 };
    expect(choiceNotes(catalog, none).unpriced.map(u => u.item)).toEqual([
      'a3-megagpu-8g'
    ]);
  });

  it('shows only the warnings its notes do not already say', () => {
    const conditions = {
      field: 'resources.machine_type',
      message: 'a3-megagpu-8g: reservation, Flex-start or Spot only',
      severity: 'warning' as const
    };
    const price = {
      field: 'resources.machine_type',
      message:
        'price not known for a3-megagpu-8g: no Vertex AI training price read; no cost estimate for this job',
      severity: 'warning' as const
    };
    const zones = {
      field: 'resources.accelerator_count',
      message: 'fits only some us-central1 zones',
      severity: 'warning' as const
    };
    expect(
      unsaidWarnings([conditions, price, zones], choiceNotes(catalog, mega))
    ).toEqual([zones]);
  });
});

describe('what a backend needs before it takes jobs', () => {
  const vertex: IBackendInfo = {
    name: 'vertex',
    available: true,
    configured: false,
    reason: 'not configured',
    default: false,
    settings: {
      project: 'my-project',
      location: 'us-central1',
      staging_bucket: null,
      api_endpoint: ''
    },
    missing: [
      {
        setting: 'VertexBackend.staging_bucket',
        message: 'set the Cloud Storage bucket for job packages and outputs'
      },
      {
        setting: 'credentials',
        message: 'no Application Default Credentials: run `gcloud auth ...`'
      }
    ],
    outputs: 'the staging bucket, once it is set',
    capabilities: {
      kinds: ['train'],
      remote: true,
      resource_fields: ['machine_type', 'replica_count', 'region'],
      sweeps: 'native',
      drain: false,
      progress: false,
      priced: true,
      schedules: false,
      cloud_schedules: false,
      scheduling: [],
      options: [],
      job_id_label: 'Backend id',
      service: 'a service',
      unsupported: {
        etl: 'pipelines run on Dataflow',
        drain: 'cancelled only',
        progress: 'none',
        schedules: 'not yet'
      }
    }
  };

  it('says which server setting to set, and where', () => {
    expect(backendSetup('vertex', vertex)).toEqual([
      'Set c.VertexBackend.staging_bucket in jupyter_server_config.py: set the Cloud Storage bucket for job packages and outputs',
      'no Application Default Credentials: run `gcloud auth ...`'
    ]);
  });

  it('says nothing of a backend that is ready', () => {
    const ready = { ...vertex, configured: true, missing: [] };
    expect(backendSetup('vertex', ready)).toEqual([]);
  });

  it('names the extra that installs a backend the server lacks', () => {
    expect(backendSetup('dataflow', undefined)).toEqual([
      'The dataflow backend is not installed on this server: pip install jupyter_mlp[dataflow]'
    ]);
    expect(backendSetup('vertex', undefined)).toEqual([
      'The vertex backend is not installed on this server.'
    ]);
  });

  it('says why an installed backend cannot run', () => {
    const broken = {
      ...vertex,
      available: false,
      reason: 'google-cloud-aiplatform is not installed'
    };
    expect(backendSetup('vertex', broken)).toEqual([
      'The vertex backend cannot run: google-cloud-aiplatform is not installed'
    ]);
  });

  it("shows the backend's settings that are set", () => {
    expect(backendSettings(vertex)).toEqual([
      'project my-project',
      'location us-central1'
    ]);
    expect(backendSettings(undefined)).toEqual([]);
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

describe("a rerun job's parameters", () => {
  it('gives inline code a row for each, typed from its value', () => {
    const rows = rowsForJob([], {
      lr: 0.01,
      epochs: 3,
      name: 'x',
      shuffle: true,
      layers: [64, 32],
      extra: { a: 1 },
      seed: null
    });
    expect(rows.map(r => [r.name, r.type, r.text])).toEqual([
      ['lr', 'float', '0.01'],
      ['epochs', 'int', '3'],
      ['name', 'str', 'x'],
      ['shuffle', 'bool', 'true'],
      ['layers', 'list', '[64,32]'],
      ['extra', 'dict', '{"a":1}'],
      ['seed', 'NoneType', 'null']
    ]);
  });

  it('sends every one of them, changed or not, with its type', () => {
    const rows = rowsForJob([], { lr: 0.01, epochs: 3, name: 'x' });
    rows[1].text = '5';
    expect(changedParameters(rows)).toEqual({
      values: { lr: 0.01, epochs: 5, name: 'x' },
      errors: {}
    });
    rows[1].text = '5.5';
    expect(changedParameters(rows).errors).toEqual({
      epochs: "'5.5' is not a whole number"
    });
  });

  it("shows its values in the file's rows and adds those the file lacks", () => {
    const file = parameterRows([
      { name: 'lr', type: 'float', default: '0.1', help: 'learning rate' },
      { name: 'epochs', type: 'int', default: '1', help: '' }
    ]);
    const rows = rowsForJob(file, { lr: 0.5, batch: 32 });
    expect(rows.map(r => [r.name, r.type, r.text, r.help])).toEqual([
      ['lr', 'float', '0.5', 'learning rate'],
      ['epochs', 'int', '1', ''],
      ['batch', 'int', '32', '']
    ]);
    // The file's defaults are not sent again; the parameter it lacks always is.
    expect(changedParameters(rows).values).toEqual({ lr: 0.5, batch: 32 });
  });
});

describe('estimateLines', () => {
  const estimate = {
    usd_per_hour: 3.726,
    as_of: '2026-11-27',
    estimate: true,
    breakdown: [
      { item: 'n1-standard-8', usd_per_hour: 0.437 },
      { item: '2 x NVIDIA_TESLA_T4', usd_per_hour: 0.805 }
    ],
    note: '3 replica(s) x 1.2420 USD/h',
    caveats: []
  };

  it('lists the machine, the accelerators by short name, and the replicas', () => {
    expect(
      estimateLines(estimate, catalog, { count: 3, what: 'replicas' })
    ).toEqual(['n1-standard-8: $0.437/h', '2 × T4: $0.805/h', '× 3 replicas']);
  });

  it('says nothing of copies when one runs', () => {
    expect(
      estimateLines(estimate, catalog, { count: 1, what: 'replicas' })
    ).toHaveLength(2);
  });
});
