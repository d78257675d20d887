/**
 * What other extensions can add to jupyter-mlp: option panels of the launch
 * form, each shown where the chosen backend's capabilities say it applies
 * (as jupyter-scheduler's `IAdvancedOptions` lets others add options).
 */
import { Token } from '@lumino/coreutils';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import type { IBackendCapabilities, ICloudCatalog, IFieldError } from './api';
import type { IFormState } from './submit/formModel';
import type { SubmitFormModel } from './submit/useSubmitForm';

/**
 * Where a panel goes in the form: under the backend ("resources"), after
 * the source ("options"), after the parameters ("search"), or in place of
 * the buttons while a job is reviewed ("review").
 */
export type OptionPanelPlace = 'resources' | 'options' | 'search' | 'review';

/** What a panel renders from: the form, its problems, the cloud catalog. */
export interface IOptionPanelProps {
  model: SubmitFormModel;
  errors: readonly IFieldError[];
  warnings: readonly IFieldError[];
  cloudCatalog: ICloudCatalog | null;
}

/** One panel of the launch form. */
export interface IOptionPanel {
  /** Unique among the panels (`jupyter-mlp:etl`). */
  id: string;
  place: OptionPanelPlace;
  /** Its order in its place, smallest first. */
  rank: number;
  /** Whether it shows for this form on a backend that can do `capabilities` (undefined: not known yet). */
  applies(
    state: IFormState,
    capabilities: IBackendCapabilities | undefined,
    model: SubmitFormModel
  ): boolean;
  render(props: IOptionPanelProps): JSX.Element;
}

/** The launch form's option panels. */
export class OptionPanelRegistry {
  /** Add a panel; disposing the result takes it out. */
  add(panel: IOptionPanel): IDisposable {
    if (this._panels.some(p => p.id === panel.id)) {
      throw new Error(`An option panel ${panel.id} is already registered`);
    }
    this._panels.push(panel);
    return new DisposableDelegate(() => {
      this._panels = this._panels.filter(p => p !== panel);
    });
  }

  /** The panels of `place` that apply to this form, in their order. */
  panels(place: OptionPanelPlace, model: SubmitFormModel): IOptionPanel[] {
    return this._panels
      .filter(
        p =>
          p.place === place && p.applies(model.state, model.capabilities, model)
      )
      .sort((a, b) => a.rank - b.rank);
  }

  private _panels: IOptionPanel[] = [];
}

/** The launch form's option panels, for other extensions to add theirs. */
export const IOptionPanels = new Token<OptionPanelRegistry>(
  'jupyter-mlp:IOptionPanels',
  "The launch form's option panels, each shown where the backend's capabilities say."
);

/** The registry the launch form renders (the one `IOptionPanels` provides). */
export const optionPanels = new OptionPanelRegistry();
