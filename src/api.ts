/**
 * Typed client of the jupyter-mlp REST API (served under `<baseUrl>/mlp`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { IBackendCapabilities, JobKind, JobState } from './vocabulary';

/**
 * The job states and kinds, their groups and what a backend can do: generated
 * from the Python side (`jupyter_mlp/vocabulary.py`).
 */
export type { IBackendCapabilities, JobKind, JobState } from './vocabulary';
export { CANCELLABLE_STATES, TERMINAL_STATES } from './vocabulary';

export interface IResources {
  machine_type?: string | null;
  accelerator_type?: string | null;
  accelerator_count?: number;
  replica_count?: number;
  /** Dataflow: the most workers the job may scale to. */
  max_workers?: number | null;
  /** Each machine's boot disk; the backend's default when unset. */
  boot_disk_type?: BootDiskType | null;
  boot_disk_size_gb?: number | null;
}

/** How Vertex AI finds capacity: on demand, Spot (preemptible) or Flex-start (waits). */
export type Strategy = 'standard' | 'spot' | 'flex_start';
export type BootDiskType = 'pd-ssd' | 'pd-standard' | 'hyperdisk-balanced';

/** What to try next when an attempt ends for lack of capacity: a partial override. */
export interface IFallback {
  region?: string | null;
  machine_type?: string | null;
  accelerator_type?: string | null;
  accelerator_count?: number | null;
  strategy?: Strategy | null;
}

/** How a cloud backend schedules the job (the spec's `scheduling`). */
export interface IScheduling {
  timeout_seconds?: number | null;
  restart_on_worker_restart?: boolean;
  strategy?: Strategy;
  /** Mirrors `strategy == 'spot'` (older clients send only this). */
  spot?: boolean;
  /** Flex-start only: how long to wait for capacity. */
  max_wait_seconds?: number | null;
  /** `any`, a reservation's name or its full name. */
  reservation?: string | null;
  service_account?: string | null;
  fallbacks?: IFallback[];
  max_preemptions?: number;
  max_cost_usd?: number | null;
}

/** Dataflow's own options, in Dataflow's forms. */
export interface IDataflowOptions {
  network?: string | null;
  subnetwork?: string | null;
  no_public_ips?: boolean;
  flexrs?: boolean;
  prime?: boolean;
}

/** How a notebook runs: executed as a notebook, or converted to a script. */
export type NotebookMode = 'notebook' | 'script';

/**
 * What a job runs: a file under the server's root directory (`path`), or
 * inline code from a magic (`code`). Exactly one is set; the server answers
 * the other as null.
 */
export interface IJobSource {
  path?: string | null;
  code?: string | null;
  /** For notebooks: executed as a notebook, or converted to a script. */
  mode?: NotebookMode | null;
  /** Globs of files next to the source to ship with the job. */
  include?: string[];
  /** Inline code from a notebook cell (`%%mlp_train`): where it came from. */
  origin?: ICodeOrigin | null;
}

/** The notebook and cell a magic's inline code came from. */
export interface ICodeOrigin {
  /** The notebook's path, relative to the Jupyter root dir. */
  notebook: string;
  cell_id?: string | null;
  /** The cell's 0-based position when it ran. */
  cell_index?: number | null;
}

/** One reported value of a metric (`jupyter_mlp.report(accuracy=0.93, step=3)`). */
export interface IMetricPoint {
  value: number;
  step?: number | null;
  at?: string | null;
}

/** How far a notebook job has run: "cell 4 of 12". */
export interface IProgress {
  cells_done: number;
  cells_total: number;
  /** The running code cell's number (1-based). */
  cell?: number | null;
  /** The running cell's first line. */
  cell_source?: string;
  updated_at?: string | null;
}

/** Another job as a person knows it: "baseline (7582d1)". */
export interface IJobRef {
  id: string;
  name: string;
}

/** The body of `POST /mlp/jobs` (a JobSpec). */
export interface IJobSubmission {
  kind: JobKind;
  source: IJobSource;
  backend?: string | null;
  name?: string | null;
  args?: string[];
  parameters?: Record<string, unknown>;
  resources?: IResources;
  region?: string | null;
  /** Packages to install, or the path of a requirements file. */
  requirements?: string[] | string;
  environment?: string | null;
  labels?: Record<string, string>;
  scheduling?: IScheduling;
  /** Vertex AI: the VPC network the job is peered with. */
  network?: string | null;
  psc_network_attachment?: string | null;
  /** A customer-managed encryption key (CMEK) in the job's region. */
  encryption_key?: string | null;
  /** Vertex AI: a TensorBoard instance to stream to. */
  tensorboard?: string | null;
  dataflow?: IDataflowOptions;
  /** Train jobs: run trials of the job with searched parameters. */
  sweep?: ISweepSpec | null;
}

export type SweepGoal = 'maximize' | 'minimize';
export type SweepAlgorithm = 'grid' | 'random' | 'bayes';

/** One searched parameter: a range (double, integer) or a list of values. */
export interface ISweepParameter {
  name: string;
  type: 'double' | 'integer' | 'discrete' | 'categorical';
  min?: number | null;
  max?: number | null;
  scale?: 'linear' | 'log';
  /** discrete: numbers; categorical: strings. */
  values?: (number | string)[] | null;
}

/** A hyperparameter sweep; the job's fixed `parameters` apply to every trial. */
export interface ISweepSpec {
  /** What the trials report through cloudml-hypertune, and which way is better. */
  metric: { name: string; goal?: SweepGoal };
  parameters: ISweepParameter[];
  algorithm?: SweepAlgorithm;
  max_trials?: number;
  parallel_trials?: number;
  /** Null: the backend's default. */
  max_failed_trials?: number | null;
}

/** One trial of a sweep: its parameters, life and final metric. */
export interface ITrial {
  /** Vertex: the trial's id; local: its number ('1', '2', …). */
  id: string;
  /** Local: the trial's own job. */
  job_id?: string | null;
  state: JobState;
  parameters: Record<string, number | string>;
  metric?: number | null;
  started_at?: string | null;
  ended_at?: string | null;
  message?: string;
}

export interface IJobOutputs {
  folder?: string;
  log?: string;
  model_dir?: string;
  executed_notebook?: string;
}

export interface ITransition {
  state: JobState;
  at: string;
  message?: string | null;
}

/**
 * A job as `GET /mlp/jobs/{id}` answers it: the whole spec and every state
 * change.
 */
export interface IJob {
  id: string;
  name: string;
  kind: JobKind;
  backend: string;
  state: JobState;
  state_message?: string | null;
  backend_state?: string | null;
  backend_job_id?: string | null;
  console_url?: string | null;
  spec: IJobSubmission & Record<string, unknown>;
  created_at: string;
  started_at?: string | null;
  ended_at?: string | null;
  outputs: IJobOutputs;
  transitions: ITransition[];
  /** Cloud jobs: the estimated cost from list prices. */
  cost?: IJobCost | null;
  /** A sweep's trials. */
  trials?: ITrial[];
  /** A sweep's trial (its id) with the best final metric. */
  best_trial?: string | null;
  /** The sweep this job is a trial of. */
  sweep_id?: string | null;
  /** The schedule this job is a run of. */
  schedule_id?: string | null;
  /** A scheduled run: the fire time it was planned for. */
  scheduled_for?: string | null;
  /**
   * What the job reported, by metric name, in report order; a list page
   * sends only each metric's last point.
   */
  metrics?: Record<string, IMetricPoint[]>;
  /** Notebook jobs: the cell running and how many are done. */
  progress?: IProgress | null;
  /** The job this one is a rerun of. */
  rerun_of?: IJobRef | null;
  /**
   * The declared parameters the spec leaves at their defaults, with those
   * defaults (whole job only): with `spec.parameters`, every value it ran with.
   */
  parameter_defaults?: Record<string, unknown>;
  /** What the checks found at submit that did not stop the job (whole job only). */
  warnings?: IFieldError[];
}

/** An estimate from dated list prices, never a bill. */
export interface IJobCost {
  usd_per_hour: number;
  usd_so_far: number;
  prices_as_of: string;
  estimate: boolean;
  /** How long the job has run (ran, once ended), in hours. */
  hours?: number;
  /** The job has ended: `usd_total` is what it cost. */
  ended?: boolean;
  /** An ended job's estimated total. */
  usd_total?: number | null;
}

/**
 * A job as `GET /mlp/jobs` lists it: the same fields, but a slim `spec` (kind,
 * backend, name, `source` as `{path, mode}` or `{code: ""}`, resources, region,
 * labels; never code, parameters, args or requirements) and no `transitions`.
 * Only its live fields (state, times, cost, outputs) are the job's: fetch the
 * whole job for the rest.
 */
export type JobSummary = IJob;

export interface IJobPage {
  jobs: JobSummary[];
  next: string | null;
}

export interface IJobFilter {
  state?: JobState;
  backend?: string;
  kind?: JobKind;
  /** A part of the name, matched case-insensitively. */
  name?: string;
  limit?: number;
  cursor?: string;
  /** The trial jobs of this sweep (a local sweep's); without it, only top-level jobs. */
  sweep_id?: string;
  /** The runs of this schedule. */
  schedule_id?: string;
}

/**
 * A piece of a job's log. Cursors are opaque (byte offsets locally, page
 * tokens or times in the cloud): read on from `next_cursor`.
 */
export interface ILogChunk {
  data: string;
  /** Where this piece starts. */
  cursor: string;
  /** Where the next read starts; the same as `cursor` when nothing new came. */
  next_cursor: string;
  /** True once the job is terminal and nothing is left to read. */
  complete: boolean;
  /** Why the log cannot be read (now, or at all when `complete`). */
  error?: string;
  /** Something to know about this piece (a cloud log read more slowly for a while, lines no
   * longer kept); the log still reads on. */
  note?: string;
  /** Byte offsets, for logs that are files (the local backend) only. */
  offset?: number;
  next_offset?: number;
  size?: number;
}

/**
 * Which part of a log to read: on from a cursor (none: the start), a byte
 * range of a log that has byte offsets, or about the last `tail` bytes.
 */
export type LogRange =
  | { cursor?: string; limit?: number }
  | { offset: number; limit?: number }
  | { tail: number };

/** `GET /mlp/jobs/{id}/outputs`: one output as it is now. */
export interface IOutputEntry {
  /** The key of `IJob.outputs` (log, model_dir, executed_notebook, folder). */
  name: string;
  path: string;
  exists: boolean;
  /** file, directory, or link (a link out of the job's folder). */
  type: string;
  size?: number | null;
  files?: string[] | null;
  file_count?: number | null;
}

/** A server-side setting a backend still needs, and how to set it. */
export interface IMissingSetting {
  /** `VertexBackend.staging_bucket` (a traitlets setting), or `credentials`. */
  setting: string;
  message: string;
}

/** `GET /mlp/backends`: one backend, whether it can take jobs, and its server settings. */
export interface IBackendInfo {
  name: string;
  /** Installed with what it needs to run. */
  available: boolean;
  /** Nothing is `missing`. */
  configured: boolean;
  reason?: string | null;
  default: boolean;
  /** The backend's settings on the server (project, location, staging_bucket…), shown, never edited. */
  settings: Record<string, unknown>;
  missing: IMissingSetting[];
  /** What the backend can do; read this, never the backend's name. */
  capabilities: IBackendCapabilities;
  /** Where a job's outputs go, as the backend's settings say ('' when it adds nothing). */
  outputs: string;
}

/**
 * One problem of a spec: which field (`resources.accelerator_count`), what,
 * and what would do. An `error` stops the job; a `warning` does not.
 */
export interface IFieldError {
  field: string;
  message: string;
  suggestions?: string[];
  /** Absent: an error. */
  severity?: 'error' | 'warning';
}

/** Whether a problem stops the job (an error, not a warning). */
export function isBlocking(problem: IFieldError): boolean {
  return problem.severity !== 'warning';
}

/** A machine type of a cloud catalog, with the accelerators it takes and in which counts. */
export interface ICatalogMachineType {
  name: string;
  family: string;
  vcpus: number;
  memory_gb: number;
  accelerators: { type: string; counts: number[] }[];
  /** What the service requires before it runs this type (`reservation, Flex-start or Spot only`). */
  conditions: string | null;
  hourly_usd: number | null;
  /** Why there is no price (`price not known: …`), or how it was derived; null when quoted. */
  price_note: string | null;
}

export interface ICatalogAccelerator {
  type: string;
  short_name: string;
  memory_gb?: number;
  regions: string[];
  hourly_usd: number | null;
  price_note: string | null;
}

/** The image a job naming none runs in (`uri`, null when none can be chosen), and why. */
export interface IDefaultImage {
  uri: string | null;
  reason: string;
}

/** A prebuilt training container of the catalog; `available`: Vertex AI still runs it today. */
export interface IPrebuiltContainer {
  framework: string;
  version: string;
  accelerator: string;
  python: string;
  uri: string;
  end_of_support: string;
  end_of_availability: string;
  available: boolean;
}

/** `GET /mlp/catalog?backend=vertex|dataflow`: what the cloud offers, with list prices. */
export interface ICloudCatalog {
  backend: string;
  region: string | null;
  machine_types: ICatalogMachineType[];
  accelerators: ICatalogAccelerator[];
  /** Accelerators deliberately left out, with why. */
  not_offered: { type: string; reason: string }[];
  regions: string[];
  /** The regions the accelerator data covers; elsewhere an accelerator's offer is not known. */
  gpu_regions?: string[];
  default_region: string;
  /** For a backend that runs jobs in container images: the image of a job naming none. */
  default_containers?: Record<string, IDefaultImage>;
  containers?: IPrebuiltContainer[];
  as_of: string;
  prices_as_of: string;
  prices_are_estimates: boolean;
}

/** A GPU of this machine; `job_id` is the job holding it, if any. */
export interface ILocalGpu {
  id: string;
  name: string;
  uuid?: string | null;
  memory_total_mb?: number | null;
  memory_used_mb?: number | null;
  utilization_percent?: number | null;
  source?: string;
  job_id?: string | null;
}

/** `GET /mlp/catalog?backend=local`: this machine. */
export interface ILocalCatalog {
  backend: string;
  gpus: ILocalGpu[];
  gpu_detection: string;
  max_concurrent_jobs: number;
  cpu_count: number;
  memory_mb: number;
}

export type Catalog = ICloudCatalog | ILocalCatalog;

/** Whether a catalog describes this machine rather than a cloud. */
export function isLocalCatalog(catalog: Catalog): catalog is ILocalCatalog {
  return 'gpus' in catalog;
}

/** An estimated on-demand hourly cost, from list prices. */
export interface IEstimate {
  usd_per_hour: number;
  as_of: string;
  estimate: boolean;
  region?: string;
  breakdown: { item: string; usd_per_hour: number }[];
  note: string;
  /** Prices derived rather than read from Google's pages (`item: how`). */
  caveats: string[];
}

/** `POST /mlp/validate`: every problem of a spec at once. */
export interface IValidation {
  valid: boolean;
  errors: IFieldError[];
  spec: IJobSubmission | null;
  estimate: IEstimate | null;
}

/** One thing a cloud backend looked at before a launch: pass, fail or unknown, and the fix. */
export interface IPreflightCheck {
  id: string;
  title: string;
  status: 'pass' | 'fail' | 'unknown';
  detail: string;
  fix: string;
}

/** `POST /mlp/validate?preflight=true`: the usual answer and the backend's preflight. */
export interface IPreflightValidation extends IValidation {
  preflight: IPreflightCheck[];
}

/** A variable of a notebook's `parameters` cell; `default` is Python source. */
export interface INotebookParameter {
  name: string;
  type: string;
  default: string;
  help: string;
}

/** `POST /mlp/convert`: what submitting a notebook would run. */
export interface IConversion {
  mode: NotebookMode | null;
  kernel_name: string | null;
  parameters: INotebookParameter[];
  detected_requirements: string[];
  magic_cells: number[];
  script: string | null;
  bundle_sha256: string;
}

/** An error answered by the server, with the field-level details it gave. */
/** One step of a pipeline and the elements it put out so far. */
export interface IStepProgress {
  step: string;
  elements: number;
}

/** `GET /mlp/jobs/{id}/progress`: per-step counts, or a note saying why none. */
export interface IJobProgress {
  job_id: string;
  steps: IStepProgress[];
  note: string;
}

/** When a fire comes while the last run still runs. */
export type ScheduleOverlap = 'skip' | 'queue' | 'allow';
/** Who fires a schedule: this server, or Cloud Scheduler (with the server closed). */
export type ScheduleRunsIn = 'server' | 'cloud';

/** `POST /mlp/schedules`: a job spec plus when it runs. */
export interface IScheduleRequest {
  /** Default: the job's name. */
  name?: string;
  /** Five cron fields, or @hourly, @daily, @weekly... (stored as five fields). */
  cron: string;
  /** The IANA time zone the cron reads in (default: the server's). */
  timezone?: string;
  spec: IJobSubmission;
  overlap?: ScheduleOverlap;
  runs_in?: ScheduleRunsIn;
  start_at?: string | null;
  end_at?: string | null;
  paused?: boolean;
}

/** `PATCH /mlp/schedules/{id}`: the fields to change. */
export type ISchedulePatch = Partial<Omit<IScheduleRequest, 'runs_in'>> & {
  /** Take a new snapshot of the source file ("Update from file"). */
  refresh_source?: boolean;
};

/** What became of one fire time. */
export type FireOutcome =
  'started' | 'queued' | 'skipped' | 'missed' | 'failed';

/** One fire time of a schedule and what became of it. */
export interface IScheduleFire {
  schedule_id: string;
  fire_at: string;
  outcome: FireOutcome;
  job_id?: string | null;
  message: string;
  recorded_at: string;
}

/** A stored schedule, as `GET /mlp/schedules/{id}` answers it. */
export interface ISchedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  spec: IJobSubmission;
  overlap: ScheduleOverlap;
  runs_in: ScheduleRunsIn;
  start_at?: string | null;
  end_at?: string | null;
  paused: boolean;
  created_at: string;
  updated_at: string;
  source_snapshot_at?: string | null;
  next_fire_at?: string | null;
  /** Its latest fires, newest first. */
  last_fires: IScheduleFire[];
  /** runs_in cloud: the Cloud Scheduler job's resource name. */
  cloud_job?: string | null;
}

export class MLPApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errors: IFieldError[] = []
  ) {
    super(message);
    this.name = 'MLPApiError';
  }
}

/**
 * The client: one method per REST endpoint.
 */
export class MLPClient {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** List jobs, newest first. */
  listJobs(filter: IJobFilter = {}): Promise<IJobPage> {
    // The search box matches any part of a name: the server's `search`, not its `name` prefix.
    const { name, ...rest } = filter;
    const query = name ? { ...rest, search: name } : rest;
    return this._request<IJobPage>(['jobs'], { query });
  }

  getJob(id: string): Promise<IJob> {
    return this._request<IJob>(['jobs', id]);
  }

  submitJob(submission: IJobSubmission): Promise<IJob> {
    return this._request<IJob>(['jobs'], {
      method: 'POST',
      body: submission
    });
  }

  cancelJob(id: string): Promise<IJob> {
    return this._request<IJob>(['jobs', id, 'cancel'], { method: 'POST' });
  }

  /**
   * Drain a running streaming pipeline on Dataflow: it stops reading its input
   * and finishes what it read (the server answers 400 for any other job).
   */
  drainJob(id: string): Promise<IJob> {
    return this._request<IJob>(['jobs', id, 'cancel'], {
      method: 'POST',
      body: { drain: true }
    });
  }

  /** Elements each step of a pipeline put out so far (Dataflow jobs). */
  getProgress(id: string): Promise<IJobProgress> {
    return this._request<IJobProgress>(['jobs', id, 'progress']);
  }

  /** Submit the same spec again as a new job. */
  rerunJob(id: string): Promise<IJob> {
    return this._request<IJob>(['jobs', id, 'rerun'], { method: 'POST' });
  }

  /** Delete a terminal job's record (the server answers 409 otherwise). */
  async deleteJob(id: string): Promise<void> {
    await this._request<null>(['jobs', id], { method: 'DELETE' });
  }

  /**
   * A piece of a job's log; follow it by passing back `next_cursor`. With
   * `debug`, the runner's own lines (papermill's cell markers) are kept.
   */
  getLogs(id: string, range: LogRange, debug = false): Promise<ILogChunk> {
    return this._request<ILogChunk>(['jobs', id, 'logs'], {
      query: { ...range, debug: debug ? 'true' : undefined }
    });
  }

  /** The job's outputs as they are now: which exist, their sizes, a folder's files. */
  async listOutputs(id: string): Promise<IOutputEntry[]> {
    const answer = await this._request<{ outputs: IOutputEntry[] }>([
      'jobs',
      id,
      'outputs'
    ]);
    return answer.outputs;
  }

  async listBackends(): Promise<IBackendInfo[]> {
    const answer = await this._request<{ backends: IBackendInfo[] }>([
      'backends'
    ]);
    return answer.backends;
  }

  /** Machine types and accelerators of a cloud backend, or this machine's GPUs. */
  getCatalog(backend: string, region?: string): Promise<Catalog> {
    return this._request<Catalog>(['catalog'], { query: { backend, region } });
  }

  /** Check a spec without submitting it. */
  validate(spec: IJobSubmission): Promise<IValidation> {
    return this._request<IValidation>(['validate'], {
      method: 'POST',
      body: spec
    });
  }

  /** What a cloud launch of `spec` needs (credentials, APIs, permissions, quotas), checked
   * before anything is staged; none for a job on this machine. */
  async preflight(spec: IJobSubmission): Promise<IPreflightCheck[]> {
    const answer = await this._request<IPreflightValidation>(['validate'], {
      method: 'POST',
      body: spec,
      query: { preflight: 'true' }
    });
    return answer.preflight ?? [];
  }

  /** Preview what a notebook or script job would run (parameters, requirements). */
  convert(spec: IJobSubmission): Promise<IConversion> {
    return this._request<IConversion>(['convert'], {
      method: 'POST',
      body: spec
    });
  }

  createSchedule(request: IScheduleRequest): Promise<ISchedule> {
    return this._request<ISchedule>(['schedules'], {
      method: 'POST',
      body: request
    });
  }

  async listSchedules(): Promise<ISchedule[]> {
    const answer = await this._request<{ schedules: ISchedule[] }>([
      'schedules'
    ]);
    return answer.schedules;
  }

  getSchedule(id: string): Promise<ISchedule> {
    return this._request<ISchedule>(['schedules', id]);
  }

  /** Change a schedule; pause and resume are `{paused: true|false}`. */
  updateSchedule(id: string, patch: ISchedulePatch): Promise<ISchedule> {
    return this._request<ISchedule>(['schedules', id], {
      method: 'PATCH',
      body: patch
    });
  }

  /** Run a schedule's job now: the job, or null for a cloud schedule (Cloud Scheduler runs it). */
  async runSchedule(id: string): Promise<IJob | null> {
    const answer = await this._request<{ job?: IJob } | null>(
      ['schedules', id, 'run'],
      { method: 'POST' }
    );
    return answer?.job ?? null;
  }

  /** Delete a schedule; its runs stay. */
  async deleteSchedule(id: string): Promise<void> {
    await this._request<null>(['schedules', id], { method: 'DELETE' });
  }

  /** A schedule's latest fire times and what became of each, newest first. */
  async listFires(id: string, limit = 20): Promise<IScheduleFire[]> {
    const answer = await this._request<{ fires: IScheduleFire[] }>(
      ['schedules', id, 'fires'],
      { query: { limit } }
    );
    return answer.fires;
  }

  /**
   * A folder of the Jupyter tree (contents API), relative to the server's root:
   * its folders and files, each with its path and kind.
   */
  async listFolder(path: string): Promise<IFolderEntry[]> {
    const settings = this.serverSettings;
    const url =
      URLExt.join(settings.baseUrl, 'api/contents', URLExt.encodeParts(path)) +
      URLExt.objectToQueryString({ content: '1', type: 'directory' });
    const response = await ServerConnection.makeRequest(url, {}, settings);
    if (!response.ok) {
      throw new MLPApiError(
        `no folder '${path}' (${response.status})`,
        response.status,
        []
      );
    }
    const folder = (await response.json()) as { content: IFolderEntry[] };
    return folder.content.map(({ name, path, type }) => ({ name, path, type }));
  }

  private async _request<T>(
    path: string[],
    options: {
      method?: string;
      body?: unknown;
      query?: Record<string, string | number | undefined>;
    } = {}
  ): Promise<T> {
    const settings = this.serverSettings;
    let url = URLExt.join(
      settings.baseUrl,
      'mlp',
      ...path.map(encodeURIComponent)
    );
    const query = Object.entries(options.query ?? {}).filter(
      ([, value]) => value !== undefined && value !== ''
    );
    if (query.length > 0) {
      url += URLExt.objectToQueryString(
        Object.fromEntries(query.map(([key, value]) => [key, String(value)]))
      );
    }
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }

    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, settings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    let data: unknown = null;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const body = (data ?? {}) as {
        message?: string;
        errors?: IFieldError[];
      };
      throw new MLPApiError(
        body.message || `${response.status} ${response.statusText}`,
        response.status,
        body.errors ?? []
      );
    }
    return data as T;
  }
}

/** A folder's entry in the Jupyter tree. */
export interface IFolderEntry {
  name: string;
  /** Relative to the server's root, `/`-separated. */
  path: string;
  type: 'directory' | 'notebook' | 'file';
}
