/**
 * Every field of a job's spec that is not at its default, as a label and a
 * line of text, in the spec's order: what the review step and the job's
 * detail list, so a setting is never there without being seen.
 */
import type { IFallback, IJobSubmission, ISweepSpec, Strategy } from '../api';
import { shortAccelerator } from '../panel/commandLine';
import { plannedTrials } from '../sweep';
import { valueAt } from './launchOptions';

export interface ISpecField {
  /** The spec's dotted path (`scheduling.timeout_seconds`). */
  field: string;
  label: string;
  value: string;
}

type Describe = (value: never, spec: IJobSubmission) => string;

const STRATEGIES: Record<Strategy, string> = {
  standard: 'On demand',
  spot: 'Spot (cheaper, can be preempted)',
  flex_start: 'Flex-start (waits for capacity)'
};

const text = (value: unknown) => String(value);
const yes = () => 'Yes';
const list = (values: string[]) => values.join(', ');
const gb = (size: number) => `${size} GB`;

/**
 * The spec's fields in its order, with their labels, defaults (unset when
 * not given) and how each reads; `scheduling.spot` mirrors the strategy.
 */
const FIELDS: [string, string, unknown, Describe?][] = [
  [
    'kind',
    'Kind',
    'train',
    (kind: string) => (kind === 'etl' ? 'ETL pipeline' : 'Training')
  ],
  ['backend', 'Backend', null],
  ['name', 'Name', null],
  ['source.path', 'File', null],
  [
    'source.code',
    'Inline code',
    null,
    (code: string) => `${code.split('\n').filter(Boolean).length} line(s)`
  ],
  [
    'source.mode',
    'Runs as',
    null,
    (mode: string) => (mode === 'script' ? 'a script' : 'a notebook')
  ],
  ['source.include', 'Ships with it', [], list],
  ['args', 'Arguments', [], list],
  [
    'parameters',
    'Parameters',
    {},
    (values: Record<string, unknown>) =>
      Object.entries(values)
        .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
        .join(', ')
  ],
  ['resources.machine_type', 'Machine type', null],
  ['resources.accelerator_type', 'Accelerator', null],
  ['resources.accelerator_count', 'Accelerators', 0],
  ['resources.replica_count', 'Replicas', 1],
  ['resources.max_workers', 'Most workers', null],
  ['resources.boot_disk_type', 'Boot disk type', null],
  ['resources.boot_disk_size_gb', 'Boot disk size', null, gb],
  ['region', 'Region', null],
  [
    'requirements',
    'Requirements',
    [],
    (value: string[] | string) =>
      Array.isArray(value) ? list(value) : `the packages in ${value}`
  ],
  ['environment', 'Environment', null],
  [
    'labels',
    'Labels',
    {},
    (labels: Record<string, string>) =>
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')
  ],
  ['scheduling.timeout_seconds', 'Timeout', null, duration],
  [
    'scheduling.restart_on_worker_restart',
    'Restart on worker restart',
    false,
    yes
  ],
  [
    'scheduling.strategy',
    'Capacity',
    'standard',
    (strategy: Strategy) => STRATEGIES[strategy] ?? strategy
  ],
  ['scheduling.max_wait_seconds', 'Wait for capacity', null, duration],
  [
    'scheduling.reservation',
    'Reservation',
    null,
    (name: string) => (name === 'any' ? 'Any matching reservation' : name)
  ],
  ['scheduling.service_account', 'Service account', null],
  [
    'scheduling.fallbacks',
    'If no capacity, try',
    [],
    (fallbacks: IFallback[]) =>
      fallbacks.map((f, i) => `${i + 1}. ${fallbackText(f)}`).join('; ')
  ],
  ['scheduling.max_preemptions', 'Restarts after preemption', 3],
  [
    'scheduling.max_cost_usd',
    'Cost cap',
    null,
    (usd: number) => `$${usd.toFixed(2)} (estimated)`
  ],
  ['network', 'Network', null],
  ['psc_network_attachment', 'PSC network attachment', null],
  ['encryption_key', 'Encryption key (CMEK)', null],
  ['tensorboard', 'TensorBoard', null],
  ['dataflow.network', 'Dataflow network', null],
  ['dataflow.subnetwork', 'Dataflow subnetwork', null],
  ['dataflow.no_public_ips', 'No public IPs', false, yes],
  ['dataflow.flexrs', 'FlexRS', false, yes],
  ['dataflow.prime', 'Dataflow Prime', false, yes],
  ['sweep', 'Sweep', null, sweepText]
];

/** The spec's fields that are not at their defaults, in the spec's order. */
export function specFields(spec: IJobSubmission): ISpecField[] {
  const fields: ISpecField[] = [];
  for (const [field, label, unset, describe] of FIELDS) {
    const value = valueAt(spec, field);
    if (value === undefined || value === null || same(value, unset)) {
      continue;
    }
    fields.push({
      field,
      label,
      value: describe ? describe(value as never, spec) : text(value)
    });
  }
  return fields;
}

/** A field's label (`network` -> `Network`), its path where it has none. */
export function fieldLabel(field: string): string {
  return FIELDS.find(([path]) => path === field)?.[1] ?? field;
}

function same(value: unknown, unset: unknown): boolean {
  return JSON.stringify(value) === JSON.stringify(unset);
}

/** Seconds as `1 h 30 min`, `2 days`, `45 s`. */
export function duration(seconds: number): string {
  const parts: string[] = [];
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's']
  ];
  let left = seconds;
  for (const [size, unit] of units) {
    const count = Math.floor(left / size);
    if (count > 0) {
      parts.push(`${count} ${unit}`);
      left -= count * size;
    }
  }
  return parts.join(' ') || '0 s';
}

/** One alternative in words: what it changes. */
export function fallbackText(fallback: IFallback): string {
  const type = fallback.accelerator_type
    ? shortAccelerator(fallback.accelerator_type)
    : '';
  const count = fallback.accelerator_count ?? null;
  const accelerators =
    count !== null ? `${count} × ${type || 'accelerators'}` : type;
  const parts = [
    fallback.region ? `region ${fallback.region}` : '',
    fallback.machine_type ?? '',
    accelerators,
    fallback.strategy ? STRATEGIES[fallback.strategy] : ''
  ];
  return parts.filter(Boolean).join(', ') || 'the same again';
}

function sweepText(sweep: ISweepSpec): string {
  const goal = sweep.metric.goal ?? 'maximize';
  const searched = sweep.parameters.map(p => p.name).join(', ');
  return [
    `${goal} ${sweep.metric.name} over ${searched}`,
    // A grid runs at most its size (the server caps it the same way).
    `${plannedTrials(sweep)} trials, ${Math.min(sweep.parallel_trials ?? 1, plannedTrials(sweep))} at a time`,
    sweep.algorithm ?? 'bayes'
  ].join('; ');
}
