import type {
  ICloudCatalog,
  IConversion,
  IJobSubmission,
  ILocalCatalog
} from '../api';
import { OptionPanelPlace, OptionPanelRegistry } from '../tokens';
import { SUBMIT_PANELS, registerSubmitPanels } from '../submit/panels';
import type { SubmitFormModel } from '../submit/useSubmitForm';
import {
  IFormState,
  NO_DEFAULTS,
  emptyForm,
  fitToCatalog,
  fromJob,
  preferredBackend,
  toSpec,
  validationRequest,
  withConversion,
  withKind,
  withParameter
} from '../submit/formModel';
import { BACKENDS } from './fixtures/backends';
import { E2_STANDARD_4, N1_STANDARD_8 } from './fixtures/machines';

const [local, vertex, dataflow] = BACKENDS;

const LOCAL_CATALOG: ILocalCatalog = {
  backend: 'local',
  gpus: [{ id: '0', name: 'T4' }],
  gpu_detection: 'nvidia-smi',
  max_concurrent_jobs: 2,
  cpu_count: 8,
  memory_mb: 32000
};

const CLOUD_CATALOG: ICloudCatalog = {
  backend: 'vertex',
  region: null,
  default_region: 'us-central1',
  regions: ['us-central1'],
  as_of: '2026-11-26',
  prices_as_of: '2026-11-26',
  prices_are_estimates: true,
  machine_types: [E2_STANDARD_4, N1_STANDARD_8],
  accelerators: [],
  not_offered: []
} as unknown as ICloudCatalog;

function conversion(patch: Partial<IConversion>): IConversion {
  return {
    mode: 'notebook',
    kernel_name: 'python3',
    parameters: [],
    detected_requirements: [],
    magic_cells: [],
    script: null,
    bundle_sha256: '',
    ...patch
  };
}

describe('the launch form model', () => {
  it('posts a local job with only the GPU count of its resources', () => {
    const state = {
      ...emptyForm(NO_DEFAULTS, 'train.ipynb'),
      backend: 'local',
      resources: { ...emptyForm(NO_DEFAULTS).resources, accelerator_count: 1 }
    };
    expect(toSpec(state, LOCAL_CATALOG, local.capabilities)).toEqual({
      kind: 'train',
      backend: 'local',
      name: null,
      source: { path: 'train.ipynb', mode: 'notebook' },
      resources: { accelerator_count: 1 }
    });
  });

  it('posts a cloud training job with replicas, region and image', () => {
    const state = {
      ...emptyForm(NO_DEFAULTS, 'train.py'),
      backend: 'vertex',
      name: ' run 1 ',
      image: 'us-docker.pkg.dev/x/y:1',
      extraRequirements: 'pandas, scikit-learn',
      resources: {
        region: 'us-central1',
        machine_type: 'n1-standard-8',
        accelerator_type: 'NVIDIA_TESLA_T4',
        accelerator_count: 2,
        replica_count: 3,
        max_workers: null
      }
    };
    expect(toSpec(state, CLOUD_CATALOG, vertex.capabilities)).toEqual({
      kind: 'train',
      backend: 'vertex',
      name: 'run 1',
      source: { path: 'train.py' },
      resources: {
        machine_type: 'n1-standard-8',
        accelerator_type: 'NVIDIA_TESLA_T4',
        accelerator_count: 2,
        replica_count: 3
      },
      region: 'us-central1',
      environment: 'us-docker.pkg.dev/x/y:1',
      requirements: ['pandas', 'scikit-learn']
    });
  });

  it('posts an ETL job with its pipeline args and most workers', () => {
    const state = {
      ...emptyForm(NO_DEFAULTS, 'counts.py'),
      kind: 'etl' as const,
      backend: 'dataflow',
      pipeline: { streaming: true, options: "--input 'my words.txt'" },
      resources: {
        ...emptyForm(NO_DEFAULTS).resources,
        machine_type: 'e2-standard-4',
        max_workers: 5
      }
    };
    const spec = toSpec(state, CLOUD_CATALOG, dataflow.capabilities);
    expect(spec.args).toEqual(['--streaming', '--input', 'my words.txt']);
    expect(spec.resources).toEqual({
      machine_type: 'e2-standard-4',
      accelerator_type: null,
      accelerator_count: 0,
      max_workers: 5
    });
  });

  it('posts a sweep, its searched parameter never also a fixed one', () => {
    const read = withConversion(
      { ...emptyForm(NO_DEFAULTS, 'train.ipynb'), backend: 'local' },
      conversion({
        parameters: [
          { name: 'lr', type: 'float', default: '0.1', help: '' },
          { name: 'epochs', type: 'int', default: '3', help: '' }
        ]
      }),
      undefined
    );
    const edited = withParameter(withParameter(read, 0, '0.5'), 1, '4');
    const state = {
      ...edited,
      sweepChoice: {
        ...edited.sweepChoice,
        enabled: true,
        metric: 'accuracy',
        searches: [
          {
            name: 'lr',
            type: 'float',
            search: 'range' as const,
            min: '0.001',
            max: '0.1',
            scale: 'log' as const,
            integer: false,
            values: ''
          }
        ]
      }
    };
    const spec = toSpec(state, LOCAL_CATALOG, local.capabilities);
    expect(spec.parameters).toEqual({ epochs: 4 });
    expect(spec.sweep?.metric.name).toBe('accuracy');
    expect(spec.sweep?.parameters.map(p => p.name)).toEqual(['lr']);
    expect(spec.requirements).toEqual([]);
  });

  it("prefills a rerun that posts the job's spec again", () => {
    const spec: IJobSubmission = {
      kind: 'train',
      backend: 'vertex',
      name: 'again',
      source: { path: 'train.ipynb', mode: 'script', include: ['utils/*.py'] },
      parameters: { lr: 0.5 },
      resources: {
        machine_type: 'n1-standard-8',
        accelerator_type: 'NVIDIA_TESLA_T4',
        accelerator_count: 1,
        replica_count: 2
      },
      region: 'us-central1',
      environment: 'my-image',
      requirements: ['pandas', 'torch']
    };
    const prefilled = fromJob(spec, NO_DEFAULTS);
    // The file's parameters and %pip packages come with the server's reading of it.
    const read = withConversion(
      prefilled,
      conversion({
        parameters: [{ name: 'lr', type: 'float', default: '0.1', help: '' }],
        detected_requirements: ['torch', 'numpy']
      }),
      spec
    );
    expect(read.detected).toEqual({ torch: true, numpy: false });
    expect(read.extraRequirements).toBe('pandas');
    const again = toSpec(read, CLOUD_CATALOG, vertex.capabilities);
    expect(again).toEqual({ ...spec, requirements: ['torch', 'pandas'] });
  });

  it('prefills a rerun of inline code with its parameters', () => {
    const spec: IJobSubmission = {
      kind: 'etl',
      backend: 'local',
      name: null,
      args: ['--output', 'out.txt'],
      source: { code: 'print(n)' },
      parameters: { n: 3 },
      resources: { accelerator_count: 0 }
    };
    const state = fromJob(spec, NO_DEFAULTS);
    expect(state.sourceKind).toBe('code');
    expect(toSpec(state, LOCAL_CATALOG, local.capabilities)).toEqual(spec);
  });

  it('switching the kind picks a backend that runs it', () => {
    const state = { ...emptyForm(NO_DEFAULTS), backend: 'vertex' };
    const etl = withKind(state, 'etl', BACKENDS);
    expect(etl.backend).toBe('dataflow');
    expect(withKind(etl, 'train', BACKENDS).backend).toBe('vertex');
    const onLocal = { ...state, backend: 'local' };
    expect(withKind(onLocal, 'etl', BACKENDS).backend).toBe('local');
  });

  it('starts on the configured backend, else the server default', () => {
    expect(preferredBackend(BACKENDS, 'dataflow')).toBe('dataflow');
    expect(preferredBackend(BACKENDS, 'missing')).toBe('local');
    expect(preferredBackend([], '')).toBe('');
  });

  it('asks the server to check a spec without a path with a stand-in source', () => {
    const spec = toSpec(
      { ...emptyForm(NO_DEFAULTS), backend: 'local' },
      LOCAL_CATALOG,
      local.capabilities
    );
    expect(validationRequest(spec, 'path').source).toEqual({ code: '' });
    const code: IJobSubmission = { ...spec, source: { code: 'x' } };
    expect(validationRequest(code, 'code')).toBe(code);
  });

  it('fits the resources to the catalog of the chosen backend', () => {
    const resources = {
      ...emptyForm(NO_DEFAULTS).resources,
      machine_type: 'a9-unknown',
      accelerator_count: 4
    };
    expect(fitToCatalog(resources, LOCAL_CATALOG, '').accelerator_count).toBe(
      1
    );
    const cloud = fitToCatalog(resources, CLOUD_CATALOG, 'n1-standard-8');
    expect(cloud.machine_type).toBe('n1-standard-8');
    const same = { ...resources, machine_type: 'e2-standard-4' };
    expect(fitToCatalog(same, CLOUD_CATALOG, '')).toBe(same);
  });
});

describe('the option panels', () => {
  const registry = new OptionPanelRegistry();
  registerSubmitPanels(registry);
  /** The panels of `place` for a form as `state`, on its backend of BACKENDS. */
  const ids = (
    place: OptionPanelPlace,
    state: IFormState,
    reviewing = false
  ) => {
    const capabilities = BACKENDS.find(
      b => b.name === state.backend
    )?.capabilities;
    const model = { state, reviewing, capabilities } as SubmitFormModel;
    return registry.panels(place, model).map(p => p.id);
  };

  it('shows the pipeline options for ETL and the sweep for training', () => {
    const train = { ...emptyForm(NO_DEFAULTS), backend: 'local' };
    const etl = { ...train, kind: 'etl' as const };
    expect(ids('options', etl)).toEqual(['jupyter-mlp:pipeline']);
    expect(ids('options', train)).toEqual([]);
    expect(ids('search', train)).toEqual(['jupyter-mlp:sweep']);
    expect(ids('search', etl)).toEqual([]);
    expect(ids('resources', train)).toEqual(['jupyter-mlp:resources']);
    expect(ids('resources', emptyForm(NO_DEFAULTS))).toEqual([]);
  });

  it('reviews a job on a remote backend only', () => {
    const cloud = { ...emptyForm(NO_DEFAULTS), backend: 'vertex' };
    expect(ids('review', cloud, true)).toEqual(['jupyter-mlp:review']);
    expect(ids('review', cloud, false)).toEqual([]);
    expect(ids('review', { ...cloud, backend: 'local' }, true)).toEqual([]);
  });

  it("takes another extension's panel, and takes it out when disposed", () => {
    const mine = registry.add({
      id: 'other:spot',
      place: 'resources',
      rank: 1,
      applies: (_state, capabilities) => capabilities?.remote ?? false,
      render: () => null as unknown as JSX.Element
    });
    const cloud = { ...emptyForm(NO_DEFAULTS), backend: 'dataflow' };
    expect(ids('resources', cloud)).toEqual([
      'jupyter-mlp:resources',
      'other:spot'
    ]);
    expect(() => registry.add({ ...SUBMIT_PANELS[0] })).toThrow();
    mine.dispose();
    expect(ids('resources', cloud)).toEqual(['jupyter-mlp:resources']);
  });
});
