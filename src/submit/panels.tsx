/**
 * This package's own option panels of the launch form: the resource picker,
 * an ETL job's pipeline options, a training job's sweep, and the review of a
 * job on a cloud service before it is submitted.
 */
import * as React from 'react';
import { IDisposable } from '@lumino/disposable';

import {
  IOptionPanel,
  IOptionPanelProps,
  OptionPanelRegistry
} from '../tokens';
import { EtlOptions } from './EtlOptions';
import { IResourceChoice } from './formModel';
import { JobReview } from './JobReview';
import { PreflightChecks } from './PreflightChecks';
import { countForAccelerator, fillForMachine } from './picker';
import { ResourcePicker } from './ResourcePicker';
import { SweepOptions } from './SweepOptions';

function Resources(props: IOptionPanelProps): JSX.Element {
  const { model, cloudCatalog } = props;
  const setResources = (
    change: (current: IResourceChoice) => Partial<IResourceChoice>
  ) =>
    model.setState(current => ({
      ...current,
      resources: { ...current.resources, ...change(current.resources) }
    }));
  return (
    <ResourcePicker
      backend={model.state.backend}
      capabilities={model.capabilities}
      catalog={model.catalog}
      catalogError={model.catalogError}
      value={model.state.resources}
      errors={props.errors}
      warnings={props.warnings}
      estimate={model.fresh ? (model.validation?.estimate ?? null) : null}
      validating={!model.fresh}
      onMachineType={machine_type =>
        setResources(current => ({
          machine_type,
          ...(cloudCatalog
            ? fillForMachine(cloudCatalog, machine_type, {
                accelerator_type: current.accelerator_type,
                accelerator_count: current.accelerator_count
              })
            : {})
        }))
      }
      onAcceleratorType={accelerator_type =>
        setResources(current => ({
          accelerator_type,
          accelerator_count: cloudCatalog
            ? countForAccelerator(
                cloudCatalog,
                current.machine_type,
                accelerator_type,
                current.accelerator_count
              )
            : current.accelerator_count
        }))
      }
      onChange={patch => setResources(() => patch)}
    />
  );
}

/** The panels, in the form's order. */
export const SUBMIT_PANELS: readonly IOptionPanel[] = [
  {
    id: 'jupyter-mlp:resources',
    place: 'resources',
    rank: 0,
    applies: state => state.backend !== '',
    render: props => <Resources {...props} />
  },
  {
    id: 'jupyter-mlp:pipeline',
    place: 'options',
    rank: 0,
    applies: state => state.kind === 'etl',
    render: ({ model, errors }) => (
      <EtlOptions
        value={model.state.pipeline}
        capabilities={model.capabilities}
        errors={errors}
        onChange={pipeline => model.update({ pipeline })}
      />
    )
  },
  {
    id: 'jupyter-mlp:sweep',
    place: 'search',
    rank: 0,
    applies: state => state.kind === 'train',
    render: ({ model, errors }) => (
      <SweepOptions
        value={model.state.sweepChoice}
        parameters={model.checks.knownParameters}
        searched={model.checks.sweepCheck.searched}
        errors={errors}
        onChange={sweepChoice => model.update({ sweepChoice })}
      />
    )
  },
  {
    id: 'jupyter-mlp:review',
    place: 'review',
    rank: 0,
    // A job on a cloud service costs money: it is reviewed before it is submitted.
    applies: (_state, capabilities, model) =>
      (capabilities?.remote ?? false) && model.reviewing,
    render: ({ model, cloudCatalog }) => (
      <JobReview
        backend={model.chosenBackend}
        backendName={model.state.backend}
        catalog={cloudCatalog}
        resources={model.state.resources}
        estimate={model.fresh ? (model.validation?.estimate ?? null) : null}
        spec={model.spec}
        leftOut={model.leftOut}
        onBack={() => model.setReviewing(false)}
        onConfirm={() => void model.submit()}
      >
        <PreflightChecks load={model.preflight} />
      </JobReview>
    )
  }
];

/** Add this package's panels to `registry`; disposing the result takes them out. */
export function registerSubmitPanels(
  registry: OptionPanelRegistry
): IDisposable[] {
  return SUBMIT_PANELS.map(panel => registry.add(panel));
}
