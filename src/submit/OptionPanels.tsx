/**
 * The option panels of one place of the launch form: those registered in
 * `IOptionPanels` that apply to the chosen backend and the form as it is.
 */
import * as React from 'react';

import { ICloudCatalog, IFieldError } from '../api';
import { OptionPanelPlace, OptionPanelRegistry, optionPanels } from '../tokens';
import { SubmitFormModel } from './useSubmitForm';

export function OptionPanels(props: {
  place: OptionPanelPlace;
  model: SubmitFormModel;
  errors: readonly IFieldError[];
  warnings: readonly IFieldError[];
  cloudCatalog: ICloudCatalog | null;
  registry?: OptionPanelRegistry;
}): JSX.Element {
  const { place, model, ...rest } = props;
  const registry = props.registry ?? optionPanels;
  return (
    <>
      {registry.panels(place, model).map(panel => (
        <React.Fragment key={panel.id}>
          {panel.render({
            model,
            errors: rest.errors,
            warnings: rest.warnings,
            cloudCatalog: rest.cloudCatalog
          })}
        </React.Fragment>
      ))}
    </>
  );
}
