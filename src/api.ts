/**
 * Typed client of the jupyter-mlp REST API (served under `<baseUrl>/mlp`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Every state a job can be in; the same words for every backend. */
export type JobState =
  | 'QUEUED'
  | 'STARTING'
  | 'RUNNING'
  | 'CANCELLING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'CANCELLED';

export type JobKind = 'train' | 'etl';

/** States in which a job can still be cancelled. */
export const CANCELLABLE_STATES: ReadonlySet<JobState> = new Set<JobState>([
  'QUEUED',
  'STARTING',
  'RUNNING'
]);

/** States that never change again. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set<JobState>([
  'SUCCEEDED',
  'FAILED',
  'CANCELLED'
]);

export interface IResources {
  machine_type?: string;
  accelerator_type?: string;
  accelerator_count?: number;
  replica_count?: number;
}

export type JobSource = { path: string } | { code: string };

/** The body of `POST /mlp/jobs`. */
export interface IJobSubmission {
  kind: JobKind;
  source: JobSource;
  backend?: string;
  name?: string;
  args?: string[];
  parameters?: Record<string, unknown>;
  resources?: IResources;
  requirements?: string[];
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
}

export interface IJobPage {
  jobs: IJob[];
  next: string | null;
}

export interface IJobFilter {
  state?: JobState;
  backend?: string;
  kind?: JobKind;
  name?: string;
  limit?: number;
  cursor?: string;
}

/** A slice of a job's log file. */
export interface ILogChunk {
  data: string;
  offset: number;
  next_offset: number;
  size: number;
  /** True once the job is terminal and nothing is left to read. */
  complete: boolean;
}

/** Which part of a log to read: from a byte offset, or the last `tail` bytes. */
export type LogRange = { offset: number; limit?: number } | { tail: number };

export interface IBackendInfo {
  name: string;
  available: boolean;
  configured: boolean;
  reason?: string | null;
  default: boolean;
}

export interface IFieldError {
  field: string;
  message: string;
}

/** An error answered by the server, with the field-level details it gave. */
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
    return this._request<IJobPage>(['jobs'], { query: { ...filter } });
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

  /** Submit the same spec again as a new job. */
  rerunJob(id: string): Promise<IJob> {
    return this._request<IJob>(['jobs', id, 'rerun'], { method: 'POST' });
  }

  /** Delete a terminal job's record (the server answers 409 otherwise). */
  async deleteJob(id: string): Promise<void> {
    await this._request<null>(['jobs', id], { method: 'DELETE' });
  }

  getLogs(id: string, range: LogRange): Promise<ILogChunk> {
    return this._request<ILogChunk>(['jobs', id, 'logs'], {
      query: { ...range }
    });
  }

  async listBackends(): Promise<IBackendInfo[]> {
    const answer = await this._request<{ backends: IBackendInfo[] }>([
      'backends'
    ]);
    return answer.backends;
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
