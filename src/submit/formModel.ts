/**
 * The launch form as data: what the person chose (`IFormState`), how a job's
 * spec prefills it (`fromJob`, for rerun), the spec it posts (`toSpec`), what
 * it asks the server to check, and how it reacts to a new kind, backend,
 * catalog or file. No React: the components render it through
 * `useSubmitForm`, and jest tests it as it is.
 */
import type {
  Catalog,
  IBackendCapabilities,
  IBackendInfo,
  IConversion,
  IJobSubmission,
  JobKind,
  NotebookMode
} from '../api';
import { isLocalCatalog } from '../api';
import {
  IBuiltSweep,
  IKnownParameter,
  ISweepChoice,
  NO_SWEEP,
  buildSweep,
  choiceFromSweep
} from '../sweep';
import {
  IParameterRow,
  changedParameters,
  parameterRows,
  parseParameter,
  rowsForJob
} from './parameters';
import {
  IPipelineChoice,
  pipelineArgs,
  pipelineFromArgs
} from './pipelineChoice';
import { fillForMachine } from './picker';
import {
  ILaunchOptions,
  leftOutOptions,
  optionsFromSpec,
  withOptions
} from './launchOptions';

/**
 * Defaults from the settings registry (empty strings: not set). Where cloud
 * jobs run (project, bucket) is the server's to say: see `GET /mlp/backends`.
 */
export interface ISubmitDefaults {
  backend: string;
  region: string;
  machineType: string;
  acceleratorType: string;
  acceleratorCount: number;
}

export const NO_DEFAULTS: ISubmitDefaults = {
  backend: '',
  region: '',
  machineType: '',
  acceleratorType: '',
  acceleratorCount: 0
};

/** What the resource picker holds; the spec takes the fields the backend reads. */
export interface IResourceChoice {
  region: string;
  machine_type: string;
  accelerator_type: string;
  accelerator_count: number;
  replica_count: number;
  max_workers: number | null;
}

/** Everything the person chose in the form. */
export interface IFormState {
  sourceKind: 'path' | 'code';
  path: string;
  code: string;
  mode: NotebookMode;
  name: string;
  kind: JobKind;
  pipeline: IPipelineChoice;
  /** Empty until the server's backends are known (or a rerun names one). */
  backend: string;
  resources: IResourceChoice;
  /** The file's parameters (its parameters cell, read by the server). */
  fileParameters: IParameterRow[];
  /** Inline code has no parameters cell: its rows are the rerun job's own parameters. */
  codeParameters: IParameterRow[];
  /** The file's `%pip` packages, each on or off. */
  detected: Record<string, boolean>;
  extraRequirements: string;
  include: string;
  /** The container image; empty: the one the catalog says a job naming none gets. */
  image: string;
  sweepChoice: ISweepChoice;
  /** The Advanced section: launch options and labels. */
  options: ILaunchOptions;
  /** The server's reading of the file; null until it answered. */
  conversion: IConversion | null;
  /**
   * The rerun job's whole spec: what the form posts starts from it, so a
   * field the form does not show survives. Null for a new job.
   */
  start: IJobSubmission | null;
}

/** A blank form; `path` is the file it was opened on, if any. */
export function emptyForm(
  defaults: ISubmitDefaults,
  path?: string
): IFormState {
  return {
    sourceKind: 'path',
    path: path ?? '',
    code: '',
    mode: 'notebook',
    name: '',
    kind: 'train',
    pipeline: pipelineFromArgs(undefined),
    backend: '',
    resources: {
      region: defaults.region,
      machine_type: defaults.machineType,
      accelerator_type: defaults.acceleratorType,
      accelerator_count: defaults.acceleratorCount,
      replica_count: 1,
      max_workers: null
    },
    fileParameters: [],
    codeParameters: [],
    detected: {},
    extraRequirements: '',
    include: '',
    image: '',
    sweepChoice: choiceFromSweep(undefined),
    options: optionsFromSpec(undefined),
    conversion: null,
    start: null
  };
}

/**
 * The form prefilled from a job's spec (rerun with changes). A file's
 * parameters and packages apply once the server has read it: see
 * `withConversion`.
 */
export function fromJob(
  spec: IJobSubmission,
  defaults: ISubmitDefaults,
  path?: string
): IFormState {
  const resources = spec.resources ?? {};
  return {
    ...emptyForm(defaults),
    sourceKind: spec.source.path ? 'path' : 'code',
    path: path ?? spec.source.path ?? '',
    code: spec.source.code ?? '',
    mode: spec.source.mode ?? 'notebook',
    name: spec.name ?? '',
    kind: spec.kind,
    pipeline: pipelineFromArgs(spec.args),
    backend: spec.backend ?? '',
    resources: {
      region: spec.region ?? defaults.region,
      machine_type: resources.machine_type ?? '',
      accelerator_type: resources.accelerator_type ?? '',
      accelerator_count: resources.accelerator_count ?? 0,
      replica_count: resources.replica_count ?? 1,
      max_workers: resources.max_workers ?? null
    },
    codeParameters: rowsForJob(
      [],
      spec.source.path ? {} : (spec.parameters ?? {})
    ),
    extraRequirements: specRequirements(spec).join(', '),
    include: (spec.source.include ?? []).join(', '),
    image: spec.environment ?? '',
    sweepChoice: choiceFromSweep(spec.sweep),
    options: optionsFromSpec(spec),
    start: spec
  };
}

/**
 * The form once the server read the file: its parameters and `%pip`
 * packages, with a rerun's spec (`start`) choosing their values.
 */
export function withConversion(
  state: IFormState,
  answer: IConversion,
  start: IJobSubmission | undefined
): IFormState {
  const rows = parameterRows(answer.parameters);
  const wanted = start && specRequirements(start);
  return {
    ...state,
    conversion: answer,
    fileParameters: start ? rowsForJob(rows, start.parameters ?? {}) : rows,
    detected: Object.fromEntries(
      answer.detected_requirements.map(r => [r, !wanted || wanted.includes(r)])
    ),
    ...(wanted
      ? {
          extraRequirements: wanted
            .filter(r => !answer.detected_requirements.includes(r))
            .join(', ')
        }
      : {})
  };
}

/** The form while a new file is being read: nothing of the last one's. */
export function withoutConversion(state: IFormState): IFormState {
  return { ...state, conversion: null, fileParameters: [], detected: {} };
}

/** Whether the server reads `path` for the form (its parameters and requirements). */
export function readsFile(path: string): boolean {
  return /\.(ipynb|py)$/.test(path);
}

/** Whether the source is a notebook (it runs as a notebook or a script). */
export function isNotebook(state: IFormState): boolean {
  return state.sourceKind === 'path' && state.path.endsWith('.ipynb');
}

/** The parameter rows the form shows: the file's, or inline code's. */
export function parameters(state: IFormState): IParameterRow[] {
  return state.sourceKind === 'code'
    ? state.codeParameters
    : state.fileParameters;
}

/** The form with one parameter's text changed. */
export function withParameter(
  state: IFormState,
  index: number,
  text: string
): IFormState {
  const rows = parameters(state).map((row, i) =>
    i === index ? { ...row, text } : row
  );
  return state.sourceKind === 'code'
    ? { ...state, codeParameters: rows }
    : { ...state, fileParameters: rows };
}

/** What the form makes of its parameters: each one's value, and the sweep. */
export interface IFormChecks {
  parameterCheck: ReturnType<typeof changedParameters>;
  /** Searched parameters start from the values typed above. */
  knownParameters: IKnownParameter[];
  sweepCheck: IBuiltSweep;
}

export function formChecks(state: IFormState): IFormChecks {
  const rows = parameters(state);
  const knownParameters = rows.map(row => {
    const parsed = parseParameter(row.text, row.type);
    return {
      name: row.name,
      type: row.type,
      value: 'value' in parsed ? parsed.value : row.defaultValue
    };
  });
  return {
    parameterCheck: changedParameters(rows),
    knownParameters,
    sweepCheck: buildSweep(
      state.kind === 'train' ? state.sweepChoice : NO_SWEEP,
      knownParameters
    )
  };
}

/**
 * The spec the form posts. `catalog` is the chosen backend's (a local one:
 * only the GPU count); `capabilities` say which resource fields and launch
 * options it reads. A rerun's spec is the start: what the form shows is the
 * form's, the rest is the job's as it was.
 */
export function toSpec(
  state: IFormState,
  catalog: Catalog | null,
  capabilities: IBackendCapabilities | undefined,
  checks: IFormChecks = formChecks(state)
): IJobSubmission {
  const local = catalog !== null && isLocalCatalog(catalog);
  const { start } = state;
  const owned = ownedBy(start);
  const requirements = [
    ...Object.entries(state.detected)
      .filter(([, on]) => on)
      .map(([r]) => r),
    ...splitList(state.extraRequirements)
  ];
  const { parameterCheck, sweepCheck } = checks;
  // A searched parameter is the sweep's, never also a fixed one.
  const fixedParameters = Object.entries(parameterCheck.values).filter(
    ([param]) => !sweepCheck.searched.includes(param)
  );
  // A file's parameters are the form's once the server has read it.
  const parametersKnown =
    state.sourceKind === 'code' || state.conversion !== null;
  const image = state.image.trim();
  const region = state.resources.region;
  const spec: IJobSubmission = {
    ...carried(start, state.backend),
    kind: state.kind,
    ...argsOf(state),
    backend: state.backend || null,
    name: state.name.trim() || null,
    source: sourceOf(state),
    ...(parametersKnown
      ? owned(
          'parameters',
          Object.fromEntries(fixedParameters),
          fixedParameters.length > 0
        )
      : {}),
    ...sweepOf(state, sweepCheck),
    resources: resourcesOf(state, local, capabilities),
    ...(local ? {} : owned('region', region || null, Boolean(region))),
    ...(local ? {} : owned('environment', image || null, Boolean(image))),
    // Once the file's %pip packages are known, the list sent is the whole list (the
    // server installs exactly it); before that, the server uses what it finds itself.
    ...(state.conversion !== null || requirements.length
      ? { requirements }
      : {})
  };
  return withOptions(spec, state.options, capabilities, start);
}

/** A field the form owns: written when set, or set back to unset when the rerun's spec had it. */
function ownedBy(start: IJobSubmission | null) {
  return <K extends keyof IJobSubmission>(
    key: K,
    value: IJobSubmission[K],
    set: boolean
  ): Partial<IJobSubmission> =>
    set || (start !== null && key in start) ? { [key]: value } : {};
}

/**
 * What a rerun's spec carries into the new one. On another backend its
 * resources, region and environment are no longer the job's: the form's are.
 */
function carried(
  start: IJobSubmission | null,
  backend: string
): Partial<IJobSubmission> {
  if (start === null) {
    return {};
  }
  if ((start.backend ?? '') === backend) {
    return start;
  }
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { resources, region, environment, ...rest } = start;
  return rest;
}

function argsOf(state: IFormState): Partial<IJobSubmission> {
  if (state.kind !== 'etl') {
    return {};
  }
  const { start } = state;
  // Unchanged pipeline options keep the rerun's args as they were written.
  if (
    start?.args &&
    JSON.stringify(pipelineFromArgs(start.args)) ===
      JSON.stringify(state.pipeline)
  ) {
    return { args: start.args };
  }
  const args = pipelineArgs(state.pipeline);
  return ownedBy(start)('args', args, args.length > 0);
}

function sourceOf(state: IFormState): IJobSubmission['source'] {
  const globs = splitList(state.include);
  // The rerun's unset source fields (`code: null`, no globs) stay as they were.
  const unset = Object.fromEntries(
    Object.entries(state.start?.source ?? {}).filter(
      ([, value]) =>
        value === null || (Array.isArray(value) && value.length === 0)
    )
  );
  return {
    ...unset,
    ...(state.sourceKind === 'code'
      ? { code: state.code }
      : {
          path: state.path.trim(),
          ...(isNotebook(state) ? { mode: state.mode } : {}),
          ...(globs.length ? { include: globs } : {})
        })
  };
}

function sweepOf(
  state: IFormState,
  sweepCheck: IBuiltSweep
): Partial<IJobSubmission> {
  const { start } = state;
  // An untouched sweep is the rerun's, exactly as the server stored it.
  if (
    start?.sweep &&
    state.kind === 'train' &&
    JSON.stringify(choiceFromSweep(start.sweep)) ===
      JSON.stringify(state.sweepChoice)
  ) {
    return { sweep: start.sweep };
  }
  return ownedBy(start)(
    'sweep',
    sweepCheck.sweep ?? null,
    sweepCheck.sweep !== null
  );
}

function resourcesOf(
  state: IFormState,
  local: boolean,
  capabilities: IBackendCapabilities | undefined
): IJobSubmission['resources'] {
  const { resources, start } = state;
  const kept =
    start !== null && (start.backend ?? '') === state.backend
      ? start.resources
      : {};
  return local
    ? { ...kept, accelerator_count: resources.accelerator_count }
    : {
        ...kept,
        machine_type: resources.machine_type || null,
        accelerator_type: resources.accelerator_type || null,
        accelerator_count: resources.accelerator_count,
        ...(takesMaxWorkers(capabilities)
          ? { max_workers: resources.max_workers }
          : { replica_count: resources.replica_count })
      };
}

/** The launch options set in the form that the chosen backend does not take: not sent. */
export function leftOut(
  state: IFormState,
  capabilities: IBackendCapabilities | undefined
): string[] {
  return leftOutOptions(state.options, capabilities);
}

/** Whether a backend sizes a job by its most workers (a pipeline) rather than by replicas. */
export function takesMaxWorkers(
  capabilities: IBackendCapabilities | undefined
): boolean {
  return capabilities?.resource_fields.includes('max_workers') ?? false;
}

/**
 * What the server is asked to check for `spec`. Without a path the spec is
 * refused whole; the rest is checked (and priced) with a stand-in source, the
 * empty path being said by the form itself.
 */
export function validationRequest(
  spec: IJobSubmission,
  sourceKind: IFormState['sourceKind']
): IJobSubmission {
  return sourceKind === 'path' && !spec.source.path
    ? { ...spec, source: { code: '' } }
    : spec;
}

/** The backend the form starts on: the settings' default, else the server's. */
export function preferredBackend(
  backends: readonly IBackendInfo[],
  wanted: string
): string {
  return (
    backends.find(b => b.name === wanted)?.name ??
    backends.find(b => b.default)?.name ??
    backends[0]?.name ??
    ''
  );
}

/**
 * The backend to offer when the kind changes: one that cannot run the kind
 * gives way to the first installed one that can and runs jobs in the same
 * place (a cloud service for a cloud service); any other stays.
 */
export function backendForKind(
  kind: JobKind,
  backend: string,
  backends: readonly IBackendInfo[]
): string {
  const current = backends.find(b => b.name === backend);
  if (!current || current.capabilities.kinds.includes(kind)) {
    return backend;
  }
  const other = backends.find(
    b =>
      b.capabilities.kinds.includes(kind) &&
      b.capabilities.remote === current.capabilities.remote
  );
  return other?.name ?? backend;
}

/** The form with another kind, and a backend that runs it. */
export function withKind(
  state: IFormState,
  kind: JobKind,
  backends: readonly IBackendInfo[]
): IFormState {
  return {
    ...state,
    kind,
    backend: backendForKind(kind, state.backend, backends)
  };
}

/**
 * The resources fitted to the chosen backend's catalog: a cloud catalog
 * without the chosen machine type starts from the default one; this machine
 * has only so many GPUs, so a count carried over from a cloud choice is cut
 * to them. The same object when nothing changes.
 */
export function fitToCatalog(
  resources: IResourceChoice,
  catalog: Catalog,
  defaultMachine: string
): IResourceChoice {
  if (isLocalCatalog(catalog)) {
    return resources.accelerator_count > catalog.gpus.length
      ? { ...resources, accelerator_count: catalog.gpus.length }
      : resources;
  }
  if (catalog.machine_types.some(m => m.name === resources.machine_type)) {
    return resources;
  }
  const wanted = catalog.machine_types.some(m => m.name === defaultMachine)
    ? defaultMachine
    : (catalog.machine_types[0]?.name ?? '');
  return {
    ...resources,
    machine_type: wanted,
    ...fillForMachine(catalog, wanted, {
      accelerator_type: resources.accelerator_type,
      accelerator_count: resources.accelerator_count
    })
  };
}

/** The packages a spec lists (none for a requirements file: the form has no field for one). */
export function specRequirements(spec: IJobSubmission | undefined): string[] {
  const requirements = spec?.requirements;
  return Array.isArray(requirements) ? requirements : [];
}

function splitList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map(item => item.trim())
    .filter(Boolean);
}

/**
 * What the form refuses itself in the resources, before the server is asked:
 * a training job runs on at least one replica.
 */
export function resourceErrors(
  state: IFormState,
  catalog: Catalog | null,
  capabilities: IBackendCapabilities | undefined
): Record<string, string> {
  const local = catalog === null || isLocalCatalog(catalog);
  const replicas = state.resources.replica_count;
  if (local || takesMaxWorkers(capabilities) || replicas >= 1) {
    return {};
  }
  return {
    'resources.replica_count': `A job runs on at least 1 replica, not ${replicas}.`
  };
}
