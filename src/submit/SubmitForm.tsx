/**
 * The form that launches a job: what to run, where (the resource picker),
 * the notebook's parameters and requirements. Every change is checked by the
 * server (`POST /mlp/validate`, debounced) and its errors land next to the
 * fields they are about. The form's state and spec are `formModel`'s.
 */
import * as React from 'react';

import {
  IFieldError,
  IJob,
  IJobSubmission,
  ISchedule,
  MLPClient,
  isBlocking,
  isLocalCatalog
} from '../api';
import {
  AdvancedSection,
  isAdvancedField,
  showsAdvanced
} from './AdvancedSection';
import { BackendSection } from './BackendSection';
import { EnvironmentSection } from './EnvironmentSection';
import { ErrorList } from './Field';
import {
  ISubmitDefaults,
  NO_DEFAULTS,
  parameters,
  resourceErrors
} from './formModel';
import { OptionPanels } from './OptionPanels';
import { ParametersSection } from './ParametersSection';
import { imageField, readableMessage } from './picker';
import {
  ITouched,
  UNTOUCHED,
  shownProblems,
  touch,
  typingIn
} from './problems';
import { PICKER_FIELDS, WarningList } from './ResourcePicker';
import { ScheduleSection } from './ScheduleSection';
import { SourceSection } from './SourceSection';
import { SubmitFooter } from './SubmitFooter';
import { isSweepField } from './SweepOptions';
import { SubmitFormModel, useSubmitForm } from './useSubmitForm';

export { ISubmitDefaults, NO_DEFAULTS };

export interface ISubmitFormProps {
  client: MLPClient;
  /** The notebook or script to run; without it the form asks for a path or code. */
  path?: string;
  defaults: ISubmitDefaults;
  /** A job's spec to start from (rerun with changes): every field prefilled. */
  initial?: IJobSubmission;
  onSubmitted: (job: IJob) => void;
  /** The schedule to edit: the form opens on its spec and times. */
  schedule?: ISchedule;
  /** Called with the schedule saved when "On a schedule" was chosen. */
  onScheduled?: (schedule: ISchedule) => void;
  onCancel: () => void;
}

/** Fields with an input of their own; errors for any other field are listed at the end. */
const SHOWN_FIELDS = new Set([
  'name',
  'kind',
  'backend',
  'region',
  'source.path',
  'source.code',
  'source.mode',
  'source.include',
  'resources.machine_type',
  'resources.accelerator_type',
  'resources.accelerator_count',
  'resources.replica_count',
  'resources.max_workers',
  'requirements',
  'environment',
  'args',
  'cron',
  'timezone',
  'overlap',
  'runs_in'
]);

/** The form's problems as it shows them, and whether they stop the job. */
function formProblems(model: SubmitFormModel) {
  const { state, checks, validation, submitErrors, catalog } = model;
  const { parameterCheck, sweepCheck } = checks;
  const ownResourceErrors = resourceErrors(state, catalog, model.capabilities);
  const noPath = state.sourceKind === 'path' && !state.path.trim();
  const cloudCatalog = catalog && !isLocalCatalog(catalog) ? catalog : null;
  const problems = (submitErrors ?? validation?.errors ?? [])
    .filter(e => !(noPath && e.field.startsWith('source')))
    .map(e => ({ ...e, message: readableMessage(cloudCatalog, e.message) }));
  const warnings = problems.filter(e => !isBlocking(e));
  const errors: IFieldError[] = [
    // The form's own word on a sweep field replaces the server's.
    ...problems.filter(
      e =>
        isBlocking(e) &&
        !(e.field in sweepCheck.errors) &&
        !(e.field in ownResourceErrors)
    ),
    ...(noPath
      ? [{ field: 'source.path', message: 'Give a notebook or script to run.' }]
      : []),
    ...Object.entries(parameterCheck.errors).map(([param, message]) => ({
      field: `parameters.${param}`,
      message
    })),
    ...Object.entries(sweepCheck.errors).map(([field, message]) => ({
      field,
      message
    })),
    ...Object.entries(ownResourceErrors).map(([field, message]) => ({
      field,
      message
    }))
  ];
  const blocked =
    noPath ||
    Object.keys(ownResourceErrors).length > 0 ||
    Object.keys(parameterCheck.errors).length > 0 ||
    Object.keys(sweepCheck.errors).length > 0 ||
    (model.fresh && validation !== null && validation.errors.some(isBlocking));
  return { cloudCatalog, warnings, errors, blocked };
}

export function SubmitForm(props: ISubmitFormProps): JSX.Element {
  const model = useSubmitForm(props);
  const { state, update, setState, capabilities, fresh } = model;
  const problems = formProblems(model);
  const { cloudCatalog, warnings, blocked } = problems;
  const [touched, setTouched] = React.useState<ITouched>(UNTOUCHED);
  const imageHint = imageField(
    cloudCatalog,
    state.resources.accelerator_type,
    state.resources.accelerator_count
  );
  const isCloud = capabilities?.remote ?? false;
  // A cloud job is reviewed as the server checked it: not before the file is read (its
  // requirements join the spec) and the spec as it is now is checked, or a late answer would
  // change, and close, the review the user opened.
  // Until the backends are known, so is not whether the job is a cloud one.
  const checking =
    !blocked &&
    (model.backends === null ||
      (isCloud && ((!fresh && !model.checkFailed) || !model.fileRead)));
  /** The Submit button (and Ctrl/Cmd+Enter): a cloud job is reviewed first. */
  const requestSubmit = () => {
    if (blocked) {
      // The attempt shows every problem, and the footer sums them up.
      setTouched(current => ({ ...current, attempted: true, typing: null }));
      return;
    }
    if (model.submitting || checking) {
      return;
    }
    if (isCloud && !model.reviewing) {
      model.setReviewing(true);
    } else {
      void model.submit();
    }
  };
  const sweeping = state.kind === 'train' && state.sweepChoice.enabled;
  const hasInput = (field: string) =>
    SHOWN_FIELDS.has(field) ||
    field.startsWith('parameters.') ||
    (sweeping && isSweepField(field)) ||
    (showsAdvanced(capabilities) && isAdvancedField(field));
  const errors = shownProblems(problems.errors, touched, hasInput);
  const panelProps = { model, errors, warnings, cloudCatalog };
  const otherErrors = errors.filter(e => !hasInput(e.field));
  const parameterFields = new Set(
    parameters(state).map(row => `parameters.${row.name}`)
  );
  const otherWarnings = warnings.filter(
    e =>
      !PICKER_FIELDS.has(e.field) &&
      !parameterFields.has(e.field) &&
      !(imageHint && e.field === 'environment')
  );

  return (
    <form
      className="jp-mlp-SubmitForm"
      aria-label="Launch a job"
      // Enter in a field never launches a job: only the button or Ctrl/Cmd+Enter do.
      onSubmit={event => event.preventDefault()}
      // A field is touched once changed or left; a path's errors wait until it is left.
      onChange={event => {
        const field = fieldOf(event.target);
        if (field) {
          const typed = event.target instanceof HTMLInputElement;
          setTouched(current =>
            typingIn(touch(current, field), typed ? field : null)
          );
        }
      }}
      onBlur={event => {
        const field = fieldOf(event.target);
        // Moving within a field (the path to its Browse… button, folders in the browser)
        // does not leave it.
        const next = event.relatedTarget ? fieldOf(event.relatedTarget) : null;
        const browsing = (event.target as Element).closest('[role="dialog"]');
        // Passing through an empty input (the path focused on opening) is not input yet.
        const empty =
          event.target instanceof HTMLInputElement && event.target.value === '';
        if (field && next !== field && !browsing && !empty) {
          setTouched(current => typingIn(touch(current, field), null));
        }
      }}
      onKeyDown={event => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          requestSubmit();
        }
      }}
    >
      <SourceSection
        client={props.client}
        state={state}
        fixedPath={props.path !== undefined}
        backends={model.backends}
        errors={errors}
        update={update}
        setState={setState}
      />
      <BackendSection
        state={state}
        backends={model.backends}
        chosenBackend={model.chosenBackend}
        errors={errors}
        setState={setState}
      >
        <OptionPanels place="resources" {...panelProps} />
      </BackendSection>
      <OptionPanels place="options" {...panelProps} />
      <ParametersSection
        state={state}
        errors={errors}
        warnings={warnings}
        setState={setState}
      />
      <OptionPanels place="search" {...panelProps} />
      <EnvironmentSection
        state={state}
        imageHint={imageHint}
        errors={errors}
        warnings={warnings}
        update={update}
      />
      <AdvancedSection
        state={state}
        capabilities={capabilities}
        catalog={cloudCatalog}
        errors={errors}
        leftOut={model.leftOut}
        setOptions={patch =>
          setState(current => ({
            ...current,
            options: { ...current.options, ...patch }
          }))
        }
      />
      {(otherErrors.length > 0 || otherWarnings.length > 0) && (
        <section className="jp-mlp-SubmitForm-section">
          {otherErrors.length > 0 && (
            <ErrorList errors={otherErrors} showField />
          )}
          {otherWarnings.length > 0 && (
            <WarningList warnings={otherWarnings} showField />
          )}
        </section>
      )}
      {(capabilities?.schedules || props.schedule) && (
        <ScheduleSection
          value={model.schedule}
          capabilities={capabilities}
          errors={errors}
          nextFireAt={props.schedule?.next_fire_at}
          onChange={model.setSchedule}
        />
      )}
      <SubmitFooter
        model={model}
        review={<OptionPanels place="review" {...panelProps} />}
        isCloud={isCloud}
        blocked={blocked}
        problems={touched.attempted && blocked ? problems.errors : []}
        checking={checking}
        onRequest={requestSubmit}
        onCancel={props.onCancel}
      />
    </form>
  );
}

/**
 * The spec field an input of the form edits (its field's `data-field`); a
 * searched parameter's row stands for the sweep's parameters.
 */
function fieldOf(target: EventTarget): string | null {
  const holder =
    target instanceof Element
      ? target.closest('[data-field], [data-sweep-parameter]')
      : null;
  if (holder === null) {
    return null;
  }
  return holder.getAttribute('data-field') ?? 'sweep.parameters';
}
