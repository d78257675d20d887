import type { IJobSubmission } from '../api';
import { duration, fallbackText, specFields } from '../submit/specFields';
import FULL_SPECS from './fixtures/fullSpecs.json';

const SPECS = FULL_SPECS as unknown as Record<string, IJobSubmission>;

describe('the fields a review and a detail list', () => {
  it('lists every field of a fully filled Vertex spec, in the spec order', () => {
    const fields = specFields(SPECS.vertex);
    expect(fields.map(f => f.field)).toEqual([
      'backend',
      'name',
      'source.path',
      'source.mode',
      'source.include',
      'args',
      'parameters',
      'resources.machine_type',
      'resources.accelerator_type',
      'resources.accelerator_count',
      'resources.replica_count',
      'resources.boot_disk_type',
      'resources.boot_disk_size_gb',
      'region',
      'requirements',
      'environment',
      'labels',
      'scheduling.timeout_seconds',
      'scheduling.restart_on_worker_restart',
      'scheduling.strategy',
      'scheduling.max_wait_seconds',
      'scheduling.reservation',
      'scheduling.service_account',
      'scheduling.fallbacks',
      'scheduling.max_preemptions',
      'scheduling.max_cost_usd',
      'network',
      'psc_network_attachment',
      'encryption_key',
      'tensorboard',
      'sweep'
    ]);
    const text = Object.fromEntries(fields.map(f => [f.label, f.value]));
    expect(text).toMatchObject({
      Timeout: '1 h 30 min',
      Capacity: 'Flex-start (waits for capacity)',
      'Wait for capacity': '2 h',
      Labels: 'team=ux, cost-center=ml',
      'Boot disk size': '200 GB',
      'Cost cap': '$25.50 (estimated)',
      'If no capacity, try':
        '1. region europe-west4; 2. a2-highgpu-2g, 2 × accelerators, On demand'
    });
  });

  it("lists Dataflow's own options", () => {
    const fields = specFields(SPECS.dataflow).map(f => f.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'kind',
        'resources.max_workers',
        'dataflow.network',
        'dataflow.subnetwork',
        'dataflow.no_public_ips',
        'dataflow.flexrs',
        'dataflow.prime'
      ])
    );
    expect(fields).not.toContain('scheduling.strategy');
  });

  it('lists nothing a spec leaves at its default', () => {
    const fields = specFields({
      kind: 'train',
      source: { path: 'a.py' },
      scheduling: { strategy: 'standard', spot: false, max_preemptions: 3 },
      dataflow: { flexrs: false },
      labels: {}
    });
    expect(fields).toEqual([
      { field: 'source.path', label: 'File', value: 'a.py' }
    ]);
  });

  it('says durations and alternatives in words', () => {
    expect(duration(90061)).toBe('1 d 1 h 1 min 1 s');
    expect(
      fallbackText({ accelerator_type: 'NVIDIA_TESLA_T4', strategy: 'spot' })
    ).toBe('T4, Spot (cheaper, can be preempted)');
  });

  it('says a grid runs its size, not more trials than it has points', () => {
    const sweep = specFields({
      kind: 'train',
      source: { path: 'train.py' },
      sweep: {
        metric: { name: 'score' },
        algorithm: 'grid',
        max_trials: 10,
        parallel_trials: 5,
        parameters: [{ name: 'x', type: 'discrete', values: [1, 2, 3] }]
      }
    }).find(f => f.field === 'sweep');
    expect(sweep?.value).toBe(
      'maximize score over x; 3 trials, 3 at a time; grid'
    );
  });
});
