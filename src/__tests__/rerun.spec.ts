/**
 * Rerun… keeps everything: a fully filled spec, as the server stores it, goes
 * through the form's model (`fromJob` -> `toSpec`) unchanged; on a backend
 * that does not take an option, the option is left out and said so.
 */
import type {
  Catalog,
  ICloudCatalog,
  IJobSubmission,
  ILocalCatalog
} from '../api';
import { NO_DEFAULTS, fromJob, leftOut, toSpec } from '../submit/formModel';
import { BACKENDS } from './fixtures/backends';
import FULL_SPECS from './fixtures/fullSpecs.json';

const [local, vertex, dataflow] = BACKENDS;

const LOCAL_CATALOG: ILocalCatalog = {
  backend: 'local',
  gpus: [{ id: '0', name: 'T4' }],
  gpu_detection: 'nvidia-smi',
  max_concurrent_jobs: 2,
  cpu_count: 8,
  memory_mb: 32000
};

const CLOUD_CATALOG = {
  backend: 'vertex',
  machine_types: [],
  accelerators: [],
  regions: ['us-central1']
} as unknown as ICloudCatalog;

const SPECS = FULL_SPECS as unknown as Record<string, IJobSubmission>;

describe('Rerun… through the form', () => {
  it.each([
    ['vertex', vertex, CLOUD_CATALOG],
    ['dataflow', dataflow, CLOUD_CATALOG],
    ['local', local, LOCAL_CATALOG]
  ] as const)(
    'keeps every field of a fully filled %s spec',
    (name, backend, catalog) => {
      const spec = SPECS[name];
      const state = fromJob(spec, NO_DEFAULTS);
      expect(toSpec(state, catalog as Catalog, backend.capabilities)).toEqual(
        spec
      );
      expect(leftOut(state, backend.capabilities)).toEqual([]);
    }
  );

  it('keeps what a spec from the command line sets, written sparsely', () => {
    const spec: IJobSubmission = {
      kind: 'train',
      backend: 'vertex',
      source: { path: 'train.py' },
      labels: { team: 'ux' },
      scheduling: { spot: true, timeout_seconds: 3600 }
    };
    const again = toSpec(
      fromJob(spec, NO_DEFAULTS),
      CLOUD_CATALOG,
      vertex.capabilities
    );
    expect(again.scheduling).toEqual({
      spot: true,
      strategy: 'spot',
      timeout_seconds: 3600
    });
    expect(again.labels).toEqual({ team: 'ux' });
  });

  it('takes what the form changes over the rerun spec', () => {
    const spec = SPECS.vertex;
    const state = fromJob(spec, NO_DEFAULTS);
    const edited = {
      ...state,
      name: 'renamed',
      options: {
        ...state.options,
        strategy: 'spot' as const,
        timeout: { amount: '2', unit: 'hours' as const },
        labels: []
      }
    };
    const again = toSpec(edited, CLOUD_CATALOG, vertex.capabilities);
    expect(again.name).toBe('renamed');
    expect(again.scheduling).toMatchObject({
      strategy: 'spot',
      spot: true,
      timeout_seconds: 7200,
      // The wait is Flex-start's only.
      max_wait_seconds: null
    });
    expect(again.labels).toEqual({});
    expect(again.network).toBe(spec.network);
  });

  it('leaves out the options another backend does not take, and says which', () => {
    const state = { ...fromJob(SPECS.vertex, NO_DEFAULTS), backend: 'local' };
    const spec = toSpec(state, LOCAL_CATALOG, local.capabilities);
    expect(spec.network).toBeUndefined();
    expect(spec.tensorboard).toBeUndefined();
    expect(spec.scheduling).toEqual({ spot: false });
    expect(spec.resources).toEqual({ accelerator_count: 1 });
    expect(spec.labels).toEqual(SPECS.vertex.labels);
    expect(leftOut(state, local.capabilities)).toEqual([
      'scheduling.timeout_seconds',
      'scheduling.restart_on_worker_restart',
      'scheduling.strategy',
      'scheduling.max_wait_seconds',
      'scheduling.reservation',
      'scheduling.service_account',
      'scheduling.fallbacks',
      'scheduling.max_preemptions',
      'scheduling.max_cost_usd',
      'resources.boot_disk_type',
      'resources.boot_disk_size_gb',
      'network',
      'psc_network_attachment',
      'encryption_key',
      'tensorboard'
    ]);
  });

  it('writes no option a new job leaves at its default', () => {
    const spec = toSpec(
      { ...fromJob(SPECS.local, NO_DEFAULTS), start: null },
      LOCAL_CATALOG,
      local.capabilities
    );
    expect(spec.scheduling).toBeUndefined();
    expect(spec.dataflow).toBeUndefined();
  });
});
