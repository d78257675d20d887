/**
 * The server's backends and what each can do, as `GET /mlp/backends` says:
 * fetched once per session, again on demand. The panel reads a backend's
 * capabilities here, never its name.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IBackendCapabilities, IBackendInfo, MLPClient } from './api';

export class ServerBackends {
  constructor(private readonly _client: Pick<MLPClient, 'listBackends'>) {}

  /** Emitted when a fetch brought the backends. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Whether a fetch has brought the backends. */
  get loaded(): boolean {
    return this._backends !== null;
  }

  /** The names of the server's backends (none until loaded). */
  get names(): string[] {
    return (this._backends ?? []).map(backend => backend.name);
  }

  /** What a backend can do; null until loaded, or for a backend the server lacks. */
  capabilities(backend: string): IBackendCapabilities | null {
    return (
      this._backends?.find(info => info.name === backend)?.capabilities ?? null
    );
  }

  /** Fetch the backends unless they were; while no fetch has succeeded, each call tries again. */
  load(): Promise<void> {
    if (this._loading === null) {
      this._loading = this.refresh();
    }
    return this._loading;
  }

  /** Fetch the backends again; a failure keeps what was known and is thrown. */
  async refresh(): Promise<void> {
    try {
      this._backends = await this._client.listBackends();
    } catch (error) {
      if (this._backends === null) {
        this._loading = null;
      }
      throw error;
    }
    this._changed.emit();
  }

  private _backends: IBackendInfo[] | null = null;
  private _loading: Promise<void> | null = null;
  private _changed = new Signal<this, void>(this);
}
