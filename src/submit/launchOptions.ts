/**
 * The launch options of the form's Advanced section as data: what the person
 * typed (`ILaunchOptions`, text as typed), how a job's spec fills them, and
 * how they are written into the spec the form posts, leaving out those the
 * chosen backend does not take (its capabilities' `options`).
 */
import type {
  BootDiskType,
  IBackendCapabilities,
  IFallback,
  IJobSubmission,
  Strategy
} from '../api';

export type DurationUnit = 'minutes' | 'hours' | 'days' | 'seconds';

/** How long, as typed: an amount and its unit (a spec holds seconds). */
export interface IDuration {
  amount: string;
  unit: DurationUnit;
}

export const UNIT_SECONDS: Record<DurationUnit, number> = {
  seconds: 1,
  minutes: 60,
  hours: 3600,
  days: 86400
};

export interface ILabelRow {
  key: string;
  value: string;
}

/** One alternative of the fallbacks editor; empty text: the job's own. */
export interface IFallbackRow {
  region: string;
  machine_type: string;
  accelerator_type: string;
  accelerator_count: string;
  strategy: Strategy | '';
}

/** Everything the Advanced section holds, as typed. */
export interface ILaunchOptions {
  timeout: IDuration;
  restartOnWorkerRestart: boolean;
  strategy: Strategy;
  maxWait: IDuration;
  reservation: string;
  serviceAccount: string;
  fallbacks: IFallbackRow[];
  maxPreemptions: string;
  maxCostUsd: string;
  bootDiskType: BootDiskType | '';
  bootDiskSizeGb: string;
  network: string;
  pscNetworkAttachment: string;
  encryptionKey: string;
  tensorboard: string;
  dataflowNetwork: string;
  dataflowSubnetwork: string;
  noPublicIps: boolean;
  flexrs: boolean;
  prime: boolean;
  labels: ILabelRow[];
}

/** Each launch option (the spec's dotted path, as `OPTION_FIELDS`) and its default. */
export const OPTION_DEFAULTS: Readonly<Record<string, unknown>> = {
  'scheduling.timeout_seconds': null,
  'scheduling.restart_on_worker_restart': false,
  'scheduling.strategy': 'standard',
  'scheduling.max_wait_seconds': null,
  'scheduling.reservation': null,
  'scheduling.service_account': null,
  'scheduling.fallbacks': [],
  'scheduling.max_preemptions': 3,
  'scheduling.max_cost_usd': null,
  'resources.boot_disk_type': null,
  'resources.boot_disk_size_gb': null,
  network: null,
  psc_network_attachment: null,
  encryption_key: null,
  tensorboard: null,
  'dataflow.network': null,
  'dataflow.subnetwork': null,
  'dataflow.no_public_ips': false,
  'dataflow.flexrs': false,
  'dataflow.prime': false
};

/** The spec's objects that hold options (`scheduling`, `resources`...). */
const OPTION_GROUPS = [
  ...new Set(
    Object.keys(OPTION_DEFAULTS)
      .filter(path => path.includes('.'))
      .map(path => path.split('.')[0])
  )
];

/** The spec's value at a dotted path (undefined where it has none). */
export function valueAt(spec: object | undefined, path: string): unknown {
  let value: unknown = spec;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Whether a value is an option's default (unset counts as the default). */
export function isDefault(path: string, value: unknown): boolean {
  return (
    value === undefined ||
    JSON.stringify(value) === JSON.stringify(OPTION_DEFAULTS[path])
  );
}

/** The launch options a spec sets to other than their defaults. */
export function optionsSet(spec: IJobSubmission | undefined | null): string[] {
  return Object.keys(OPTION_DEFAULTS).filter(
    path => !isDefault(path, valueAt(spec ?? undefined, path))
  );
}

/** A duration in the largest unit that holds it whole. */
export function durationOf(seconds: number | null | undefined): IDuration {
  if (seconds === null || seconds === undefined) {
    return { amount: '', unit: 'hours' };
  }
  const unit = (['days', 'hours', 'minutes'] as DurationUnit[]).find(
    u => seconds % UNIT_SECONDS[u] === 0
  );
  return unit
    ? { amount: String(seconds / UNIT_SECONDS[unit]), unit }
    : { amount: String(seconds), unit: 'seconds' };
}

/** The options as a job's spec sets them (a new job's: all at their defaults). */
export function optionsFromSpec(
  spec: IJobSubmission | undefined
): ILaunchOptions {
  const scheduling = spec?.scheduling ?? {};
  const resources = spec?.resources ?? {};
  const dataflow = spec?.dataflow ?? {};
  return {
    timeout: durationOf(scheduling.timeout_seconds),
    restartOnWorkerRestart: scheduling.restart_on_worker_restart ?? false,
    strategy: scheduling.strategy ?? (scheduling.spot ? 'spot' : 'standard'),
    maxWait: durationOf(scheduling.max_wait_seconds),
    reservation: scheduling.reservation ?? '',
    serviceAccount: scheduling.service_account ?? '',
    fallbacks: (scheduling.fallbacks ?? []).map(fallbackRow),
    maxPreemptions: String(scheduling.max_preemptions ?? 3),
    maxCostUsd: text(scheduling.max_cost_usd),
    bootDiskType: resources.boot_disk_type ?? '',
    bootDiskSizeGb: text(resources.boot_disk_size_gb),
    network: spec?.network ?? '',
    pscNetworkAttachment: spec?.psc_network_attachment ?? '',
    encryptionKey: spec?.encryption_key ?? '',
    tensorboard: spec?.tensorboard ?? '',
    dataflowNetwork: dataflow.network ?? '',
    dataflowSubnetwork: dataflow.subnetwork ?? '',
    noPublicIps: dataflow.no_public_ips ?? false,
    flexrs: dataflow.flexrs ?? false,
    prime: dataflow.prime ?? false,
    labels: Object.entries(spec?.labels ?? {}).map(([key, value]) => ({
      key,
      value
    }))
  };
}

export const NO_FALLBACK: IFallbackRow = {
  region: '',
  machine_type: '',
  accelerator_type: '',
  accelerator_count: '',
  strategy: ''
};

function fallbackRow(fallback: IFallback): IFallbackRow {
  return {
    region: fallback.region ?? '',
    machine_type: fallback.machine_type ?? '',
    accelerator_type: fallback.accelerator_type ?? '',
    accelerator_count: text(fallback.accelerator_count),
    strategy: fallback.strategy ?? ''
  };
}

/** A fallback row as the spec takes it: every field, unset ones null. */
export function fallbackOf(row: IFallbackRow): IFallback {
  return {
    region: row.region.trim() || null,
    machine_type: row.machine_type.trim() || null,
    accelerator_type: row.accelerator_type.trim() || null,
    accelerator_count: numberOrText(row.accelerator_count) as number | null,
    strategy: row.strategy || null
  };
}

/** Each option's value in the spec, from what was typed. */
export function optionValues(options: ILaunchOptions): Record<string, unknown> {
  return {
    'scheduling.timeout_seconds': seconds(options.timeout),
    'scheduling.restart_on_worker_restart': options.restartOnWorkerRestart,
    'scheduling.strategy': options.strategy,
    'scheduling.max_wait_seconds':
      options.strategy === 'flex_start' ? seconds(options.maxWait) : null,
    'scheduling.reservation': options.reservation.trim() || null,
    'scheduling.service_account': options.serviceAccount.trim() || null,
    'scheduling.fallbacks': options.fallbacks.map(fallbackOf),
    'scheduling.max_preemptions': numberOrText(options.maxPreemptions) ?? 3,
    'scheduling.max_cost_usd': numberOrText(options.maxCostUsd),
    'resources.boot_disk_type': options.bootDiskType || null,
    'resources.boot_disk_size_gb': numberOrText(options.bootDiskSizeGb),
    network: options.network.trim() || null,
    psc_network_attachment: options.pscNetworkAttachment.trim() || null,
    encryption_key: options.encryptionKey.trim() || null,
    tensorboard: options.tensorboard.trim() || null,
    'dataflow.network': options.dataflowNetwork.trim() || null,
    'dataflow.subnetwork': options.dataflowSubnetwork.trim() || null,
    'dataflow.no_public_ips': options.noPublicIps,
    'dataflow.flexrs': options.flexrs,
    'dataflow.prime': options.prime
  };
}

/** Whether a backend takes an option (unknown capabilities: every one, for now). */
export function takesOption(
  capabilities: IBackendCapabilities | undefined,
  path: string
): boolean {
  return capabilities?.options.includes(path) ?? true;
}

/** The options set in the form that the chosen backend does not take (left out of the spec). */
export function leftOutOptions(
  options: ILaunchOptions,
  capabilities: IBackendCapabilities | undefined
): string[] {
  const values = optionValues(options);
  return Object.keys(OPTION_DEFAULTS).filter(
    path => !takesOption(capabilities, path) && !isDefault(path, values[path])
  );
}

/**
 * `spec` with the options written in: each one the backend takes, when set
 * or when the rerun's spec (`start`) had it; one it does not take, left out.
 * Labels go to every backend.
 */
export function withOptions(
  spec: IJobSubmission,
  options: ILaunchOptions,
  capabilities: IBackendCapabilities | undefined,
  start: IJobSubmission | null
): IJobSubmission {
  const out: Record<string, unknown> = { ...spec };
  for (const part of OPTION_GROUPS) {
    if (out[part] && typeof out[part] === 'object') {
      out[part] = { ...(out[part] as object) };
    }
  }
  const values = optionValues(options);
  const left = leftOutOptions(options, capabilities);
  for (const path of Object.keys(OPTION_DEFAULTS)) {
    if (left.includes(path)) {
      removeAt(out, path);
    } else if (!takesOption(capabilities, path)) {
      continue;
    } else if (isDefault(path, values[path]) && !hasValueAt(start, path)) {
      removeAt(out, path);
    } else {
      setAt(out, path, values[path]);
    }
  }
  const scheduling = out.scheduling as Record<string, unknown> | undefined;
  if (scheduling && 'spot' in scheduling) {
    // `spot` mirrors the strategy: the server refuses `spot: true` with another one.
    scheduling.spot = scheduling.strategy === 'spot';
  }
  for (const part of OPTION_GROUPS.filter(p => p !== 'resources')) {
    if (isEmpty(out[part]) && valueAt(start ?? undefined, part) === undefined) {
      delete out[part];
    }
  }
  const labels = options.labels.filter(row => row.key.trim());
  if (labels.length || start?.labels) {
    out.labels = Object.fromEntries(
      labels.map(row => [row.key.trim(), row.value])
    );
  } else {
    delete out.labels;
  }
  return out as unknown as IJobSubmission;
}

function hasValueAt(spec: IJobSubmission | null, path: string): boolean {
  return valueAt(spec ?? undefined, path) !== undefined;
}

function setAt(target: Record<string, unknown>, path: string, value: unknown) {
  const parts = path.split('.');
  const last = parts.pop()!;
  let node = target;
  for (const part of parts) {
    node[part] = { ...((node[part] as object | undefined) ?? {}) };
    node = node[part] as Record<string, unknown>;
  }
  node[last] = value;
}

function removeAt(target: Record<string, unknown>, path: string) {
  const parts = path.split('.');
  const last = parts.pop()!;
  const node = valueAt(target, parts.join('.')) as
    Record<string, unknown> | undefined;
  if (parts.length === 0) {
    delete target[last];
  } else if (node && typeof node === 'object') {
    delete node[last];
  }
}

function isEmpty(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    Object.keys(value as object).length === 0
  );
}

function seconds(duration: IDuration): number | string | null {
  const amount = numberOrText(duration.amount);
  return typeof amount === 'number'
    ? Math.round(amount * UNIT_SECONDS[duration.unit])
    : amount;
}

/** A number as typed: empty is unset; text that is no number goes as it is, for the server to name. */
function numberOrText(typed: string): number | string | null {
  const trimmed = typed.trim();
  if (!trimmed) {
    return null;
  }
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

function text(value: number | null | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}
