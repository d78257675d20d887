/**
 * The form that launches a job: what to run, where (the resource picker),
 * the notebook's parameters and requirements. Every change is checked by the
 * server (`POST /mlp/validate`, debounced) and its errors land next to the
 * fields they are about.
 */
import * as React from 'react';
import { useEffect, useMemo, useRef, useState } from 'react';

import {
  Catalog,
  IBackendInfo,
  IConversion,
  IFieldError,
  IJob,
  IJobSubmission,
  IValidation,
  JobKind,
  MLPApiError,
  MLPClient,
  NotebookMode,
  isBlocking,
  isLocalCatalog
} from '../api';
import { ErrorList, Field } from './Field';
import {
  IParameterRow,
  changedParameters,
  parameterRows,
  parseParameter,
  rowsForJob
} from './parameters';
import {
  backendSettings,
  backendSetup,
  countForAccelerator,
  fillForMachine,
  imageField,
  readableMessage
} from './picker';
import {
  IResourceChoice,
  PICKER_FIELDS,
  ResourcePicker,
  WarningList
} from './ResourcePicker';
import { JobReview } from './JobReview';
import {
  EtlOptions,
  IPipelineChoice,
  backendForKind,
  pipelineArgs,
  pipelineFromArgs
} from './EtlOptions';
import { CLOUD_BACKENDS, defaultJobName } from '../vocabulary';
import { NO_SWEEP, buildSweep, choiceFromSweep } from '../sweep';
import { SweepOptions, isSweepField } from './SweepOptions';

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

export interface ISubmitFormProps {
  client: MLPClient;
  /** The notebook or script to run; without it the form asks for a path or code. */
  path?: string;
  defaults: ISubmitDefaults;
  /** A job's spec to start from (rerun with changes): every field prefilled. */
  initial?: IJobSubmission;
  onSubmitted: (job: IJob) => void;
  onCancel: () => void;
}

/** The backends the form always offers, installed or not. */
const VALIDATE_DELAY_MS = 300;

/** Whether the server reads `path` for the form (its parameters and requirements). */
function readsFile(path: string): boolean {
  return /\.(ipynb|py)$/.test(path);
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
  'args'
]);

export function SubmitForm(props: ISubmitFormProps): JSX.Element {
  const { client, defaults, initial } = props;
  const [sourceKind, setSourceKind] = useState<'path' | 'code'>(
    initial && !initial.source.path ? 'code' : 'path'
  );
  const [path, setPath] = useState(props.path ?? initial?.source.path ?? '');
  const [code, setCode] = useState(initial?.source.code ?? '');
  const [mode, setMode] = useState<NotebookMode>(
    initial?.source.mode ?? 'notebook'
  );
  const [name, setName] = useState(initial?.name ?? '');
  const [kind, setKind] = useState<JobKind>(initial?.kind ?? 'train');
  const [pipeline, setPipeline] = useState<IPipelineChoice>(() =>
    pipelineFromArgs(initial?.args)
  );
  const [backends, setBackends] = useState<IBackendInfo[] | null>(null);
  const [backend, setBackend] = useState(initial?.backend ?? '');
  const [catalogs, setCatalogs] = useState<Record<string, Catalog | string>>(
    {}
  );
  const [resources, setResources] = useState<IResourceChoice>({
    region: initial?.region ?? defaults.region,
    machine_type: initial
      ? (initial.resources?.machine_type ?? '')
      : defaults.machineType,
    accelerator_type: initial
      ? (initial.resources?.accelerator_type ?? '')
      : defaults.acceleratorType,
    accelerator_count: initial
      ? (initial.resources?.accelerator_count ?? 0)
      : defaults.acceleratorCount,
    replica_count: initial?.resources?.replica_count ?? 1,
    max_workers: initial?.resources?.max_workers ?? null
  });
  // The initial spec's parameters and packages apply once the notebook's own are read.
  const pendingInitial = useRef(initial);
  const [conversion, setConversion] = useState<IConversion | null>(null);
  // The file's parameters (its parameters cell, read by the server), and inline code's:
  // code has no parameters cell, so its rows are the rerun job's own parameters.
  const [fileParameters, setFileParameters] = useState<IParameterRow[]>([]);
  const [codeParameters, setCodeParameters] = useState<IParameterRow[]>(() =>
    rowsForJob([], initial?.source.path ? {} : (initial?.parameters ?? {}))
  );
  const [detected, setDetected] = useState<Record<string, boolean>>({});
  const [extraRequirements, setExtraRequirements] = useState(
    initialRequirements(initial).join(', ')
  );
  const [include, setInclude] = useState(
    (initial?.source.include ?? []).join(', ')
  );
  // The container image; empty: the one the catalog says a job naming none gets.
  const [image, setImage] = useState(initial?.environment ?? '');
  const [validation, setValidation] = useState<IValidation | null>(null);
  const [validatedKey, setValidatedKey] = useState('');
  /** The spec whose check could not be made (the server did not answer): not waited for. */
  const [uncheckedKey, setUncheckedKey] = useState<string | null>(null);
  const [submitErrors, setSubmitErrors] = useState<IFieldError[] | null>(null);
  const [submitMessage, setSubmitMessage] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [sweepChoice, setSweepChoice] = useState(() =>
    choiceFromSweep(initial?.sweep)
  );
  // A cloud job is reviewed (where, what, the cost) before it is submitted.
  const [reviewing, setReviewing] = useState(false);

  const isNotebook = sourceKind === 'path' && path.endsWith('.ipynb');
  const parameters = sourceKind === 'code' ? codeParameters : fileParameters;
  const editParameter = (index: number, text: string) =>
    (sourceKind === 'code' ? setCodeParameters : setFileParameters)(rows =>
      rows.map((row, i) => (i === index ? { ...row, text } : row))
    );

  // The backends: the server's, plus the cloud ones it lacks (shown as not installed).
  useEffect(() => {
    let cancelled = false;
    client
      .listBackends()
      .catch(() => [] as IBackendInfo[])
      .then(list => {
        if (cancelled) {
          return;
        }
        setBackends(list);
        const all = [
          ...list.map(b => b.name),
          ...CLOUD_BACKENDS.filter(name => !list.some(b => b.name === name))
        ];
        const preferred =
          all.find(name => name === defaults.backend) ??
          list.find(b => b.default)?.name ??
          all[0];
        setBackend(current => current || preferred);
      });
    return () => {
      cancelled = true;
    };
  }, [client, defaults.backend]);

  // The catalog of the chosen backend (fetched once per backend).
  useEffect(() => {
    if (!backend || backend in catalogs) {
      return;
    }
    let cancelled = false;
    client
      .getCatalog(backend)
      .then(catalog => {
        if (!cancelled) {
          setCatalogs(all => ({ ...all, [backend]: catalog }));
        }
      })
      .catch((error: Error) => {
        if (!cancelled) {
          setCatalogs(all => ({ ...all, [backend]: error.message }));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, backend, catalogs]);

  const catalogEntry = catalogs[backend];
  const catalog = typeof catalogEntry === 'object' ? catalogEntry : null;
  const catalogError = typeof catalogEntry === 'string' ? catalogEntry : null;

  // A cloud catalog without the chosen machine type: start from the default one.
  useEffect(() => {
    if (!catalog || isLocalCatalog(catalog)) {
      return;
    }
    setResources(current => {
      if (catalog.machine_types.some(m => m.name === current.machine_type)) {
        return current;
      }
      const wanted = catalog.machine_types.some(
        m => m.name === defaults.machineType
      )
        ? defaults.machineType
        : (catalog.machine_types[0]?.name ?? '');
      return {
        ...current,
        machine_type: wanted,
        ...fillForMachine(catalog, wanted, {
          accelerator_type: current.accelerator_type,
          accelerator_count: current.accelerator_count
        })
      };
    });
  }, [catalog, defaults.machineType]);

  // This machine has only so many GPUs: a count carried over from a cloud choice is cut to them.
  useEffect(() => {
    if (!catalog || !isLocalCatalog(catalog)) {
      return;
    }
    setResources(current =>
      current.accelerator_count > catalog.gpus.length
        ? { ...current, accelerator_count: catalog.gpus.length }
        : current
    );
  }, [catalog]);

  // The notebook's parameters and requirements, read by the server.
  const debouncedPath = useDebounced(path, 400);
  /** The last path the server answered for (read, or refused). */
  const [readPath, setReadPath] = useState<string | null>(null);
  useEffect(() => {
    setConversion(null);
    setFileParameters([]);
    setDetected({});
    if (sourceKind !== 'path' || !readsFile(debouncedPath)) {
      return;
    }
    let cancelled = false;
    client
      .convert({
        kind: 'train',
        source: { path: debouncedPath }
      })
      .then(answer => {
        if (cancelled) {
          return;
        }
        setReadPath(debouncedPath);
        setConversion(answer);
        const start = pendingInitial.current;
        pendingInitial.current = undefined;
        const rows = parameterRows(answer.parameters);
        setFileParameters(
          start ? rowsForJob(rows, start.parameters ?? {}) : rows
        );
        const wanted = start && initialRequirements(start);
        setDetected(
          Object.fromEntries(
            answer.detected_requirements.map(r => [
              r,
              !wanted || wanted.includes(r)
            ])
          )
        );
        if (wanted) {
          setExtraRequirements(
            wanted
              .filter(r => !answer.detected_requirements.includes(r))
              .join(', ')
          );
        }
      })
      .catch(() => {
        // The validation answer says what is wrong with the path.
        if (!cancelled) {
          setReadPath(debouncedPath);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, sourceKind, debouncedPath]);

  const parameterCheck = useMemo(
    () => changedParameters(parameters),
    [parameters]
  );
  // Searched parameters start from the values typed above.
  const knownParameters = useMemo(
    () =>
      parameters.map(row => {
        const parsed = parseParameter(row.text, row.type);
        return {
          name: row.name,
          type: row.type,
          value: 'value' in parsed ? parsed.value : row.defaultValue
        };
      }),
    [parameters]
  );
  const sweepCheck = useMemo(
    () =>
      buildSweep(kind === 'train' ? sweepChoice : NO_SWEEP, knownParameters),
    [kind, sweepChoice, knownParameters]
  );
  const spec = useMemo<IJobSubmission>(() => {
    const local = catalog !== null && isLocalCatalog(catalog);
    const requirements = [
      ...Object.entries(detected)
        .filter(([, on]) => on)
        .map(([r]) => r),
      ...splitList(extraRequirements)
    ];
    const globs = splitList(include);
    const args = kind === 'etl' ? pipelineArgs(pipeline) : [];
    // A searched parameter is the sweep's, never also a fixed one.
    const fixedParameters = Object.entries(parameterCheck.values).filter(
      ([param]) => !sweepCheck.searched.includes(param)
    );
    return {
      kind,
      ...(args.length ? { args } : {}),
      backend: backend || null,
      name: name.trim() || null,
      source:
        sourceKind === 'code'
          ? { code }
          : {
              path: path.trim(),
              ...(isNotebook ? { mode } : {}),
              ...(globs.length ? { include: globs } : {})
            },
      ...(fixedParameters.length
        ? { parameters: Object.fromEntries(fixedParameters) }
        : {}),
      ...(sweepCheck.sweep ? { sweep: sweepCheck.sweep } : {}),
      resources: local
        ? { accelerator_count: resources.accelerator_count }
        : {
            machine_type: resources.machine_type || null,
            accelerator_type: resources.accelerator_type || null,
            accelerator_count: resources.accelerator_count,
            ...(backend === 'dataflow'
              ? { max_workers: resources.max_workers }
              : { replica_count: resources.replica_count })
          },
      ...(!local && resources.region ? { region: resources.region } : {}),
      ...(!local && image.trim() ? { environment: image.trim() } : {}),
      // Once the notebook's %pip packages are known, the list sent is the whole list (the
      // server installs exactly it); before that, the server uses what it finds itself.
      ...(conversion !== null || requirements.length ? { requirements } : {})
    };
  }, [
    kind,
    backend,
    name,
    sourceKind,
    code,
    path,
    isNotebook,
    mode,
    include,
    parameterCheck,
    sweepCheck,
    resources,
    catalog,
    detected,
    extraRequirements,
    conversion,
    pipeline,
    image
  ]);
  const specKey = JSON.stringify(spec);

  // Validate every change, a moment after the typing stops.
  const latest = useRef('');
  useEffect(() => {
    latest.current = specKey;
    setSubmitErrors(null);
    setSubmitMessage(null);
    setReviewing(false);
    if (!backend || catalogEntry === undefined) {
      return;
    }
    const timer = window.setTimeout(() => {
      const checked = JSON.parse(specKey) as IJobSubmission;
      // Without a path the spec is refused whole; check (and price) the rest
      // with a stand-in source, the empty path being said by the form itself.
      if (sourceKind === 'path' && !checked.source.path) {
        checked.source = { code: '' };
      }
      client
        .validate(checked)
        .then(answer => {
          if (latest.current === specKey) {
            setValidation(answer);
            setValidatedKey(specKey);
          }
        })
        .catch(() => {
          // A failed check leaves the last answer; submitting still asks the server.
          if (latest.current === specKey) {
            setUncheckedKey(specKey);
          }
        });
    }, VALIDATE_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [client, specKey, backend, catalogEntry, sourceKind]);

  const noPath = sourceKind === 'path' && !path.trim();
  const cloudCatalog = catalog && !isLocalCatalog(catalog) ? catalog : null;
  const imageHint = imageField(
    cloudCatalog,
    resources.accelerator_type,
    resources.accelerator_count
  );
  const problems = (submitErrors ?? validation?.errors ?? [])
    .filter(e => !(noPath && e.field.startsWith('source')))
    .map(e => ({ ...e, message: readableMessage(cloudCatalog, e.message) }));
  const warnings = problems.filter(e => !isBlocking(e));
  const errors: IFieldError[] = [
    // The form's own word on a sweep field replaces the server's.
    ...problems.filter(e => isBlocking(e) && !(e.field in sweepCheck.errors)),
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
    }))
  ];
  const fresh = validatedKey === specKey;
  const checkFailed = uncheckedKey === specKey;
  const blocked =
    noPath ||
    Object.keys(parameterCheck.errors).length > 0 ||
    Object.keys(sweepCheck.errors).length > 0 ||
    (fresh && validation !== null && validation.errors.some(isBlocking));

  const isCloud = CLOUD_BACKENDS.includes(backend);
  // A cloud job is reviewed as the server checked it: not before the file is read (its
  // requirements join the spec) and the spec as it is now is checked, or a late answer would
  // change, and close, the review the user opened.
  const checking =
    isCloud &&
    !blocked &&
    ((!fresh && !checkFailed) ||
      (sourceKind === 'path' && readsFile(path) && readPath !== path));
  /** The Submit button (and Ctrl/Cmd+Enter): a cloud job is reviewed first. */
  const requestSubmit = () => {
    if (submitting || blocked || checking) {
      return;
    }
    if (isCloud && !reviewing) {
      setReviewing(true);
    } else {
      void submit();
    }
  };

  const submit = async () => {
    setReviewing(false);
    setSubmitting(true);
    setSubmitMessage(null);
    try {
      const job = await client.submitJob(spec);
      props.onSubmitted(job);
    } catch (error) {
      if (error instanceof MLPApiError && error.errors.length) {
        setSubmitErrors(error.errors);
      }
      setSubmitMessage((error as Error).message);
    } finally {
      setSubmitting(false);
    }
  };

  const chosenBackend = backends?.find(b => b.name === backend);
  // Until the server answered, nothing is known of the backend: say nothing yet.
  const setup = backends === null ? [] : backendSetup(backend, chosenBackend);
  const settings = backendSettings(chosenBackend);
  // The server also refuses the spec for each missing setting: the setup lines say those.
  const backendErrors = errors.filter(
    e =>
      e.field !== 'backend' ||
      !(chosenBackend?.missing ?? []).some(m => e.message.includes(m.message))
  );
  const setResource = (patch: Partial<IResourceChoice>) =>
    setResources(current => ({ ...current, ...patch }));
  const otherErrors = errors.filter(
    e =>
      !SHOWN_FIELDS.has(e.field) &&
      !e.field.startsWith('parameters.') &&
      !(kind === 'train' && sweepChoice.enabled && isSweepField(e.field))
  );
  const otherWarnings = warnings.filter(
    e =>
      !PICKER_FIELDS.has(e.field) && !(imageHint && e.field === 'environment')
  );

  return (
    <form
      className="jp-mlp-SubmitForm"
      aria-label="Launch a job"
      // Enter in a field never launches a job: only the button or Ctrl/Cmd+Enter do.
      onSubmit={event => event.preventDefault()}
      onKeyDown={event => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          requestSubmit();
        }
      }}
    >
      <section className="jp-mlp-SubmitForm-section">
        <h3>What to run</h3>
        {props.path === undefined && (
          <div
            className="jp-mlp-Segmented"
            role="radiogroup"
            aria-label="Source"
          >
            {(['path', 'code'] as const).map(value => (
              <label key={value}>
                <input
                  type="radio"
                  name="jp-mlp-source"
                  checked={sourceKind === value}
                  onChange={() => setSourceKind(value)}
                />
                {value === 'path' ? 'A file' : 'Python code'}
              </label>
            ))}
          </div>
        )}
        {sourceKind === 'path' ? (
          <Field
            field="source.path"
            label="Notebook or script"
            errors={errors}
            hint="A .ipynb or .py file, relative to the Jupyter root."
          >
            {input => (
              <input
                {...input}
                type="text"
                value={path}
                readOnly={props.path !== undefined}
                placeholder="train.ipynb"
                onChange={event => setPath(event.target.value)}
              />
            )}
          </Field>
        ) : (
          <Field field="source.code" label="Code" errors={errors}>
            {input => (
              <textarea
                {...input}
                className="jp-mlp-SubmitForm-code"
                rows={6}
                value={code}
                placeholder="print('hello')"
                spellCheck={false}
                onChange={event => setCode(event.target.value)}
              />
            )}
          </Field>
        )}
        {isNotebook && (
          <Field
            field="source.mode"
            label="Run as"
            errors={errors}
            hint={
              mode === 'notebook'
                ? 'Executes the notebook and keeps the executed copy with its outputs.'
                : 'Converts the notebook to a Python script and runs that.'
            }
          >
            {input => (
              <select
                {...input}
                value={mode}
                onChange={event => setMode(event.target.value as NotebookMode)}
              >
                <option value="notebook">Notebook</option>
                <option value="script">Script</option>
              </select>
            )}
          </Field>
        )}
        <div className="jp-mlp-FieldRow">
          <Field field="name" label="Job name" errors={errors}>
            {input => (
              <input
                {...input}
                type="text"
                value={name}
                placeholder={defaultJobName(
                  kind,
                  sourceKind === 'code' ? null : path
                )}
                onChange={event => setName(event.target.value)}
              />
            )}
          </Field>
          <Field field="kind" label="Kind" errors={errors}>
            {input => (
              <select
                {...input}
                value={kind}
                onChange={event => {
                  const chosen = event.target.value as JobKind;
                  setKind(chosen);
                  setBackend(current =>
                    backendForKind(
                      chosen,
                      current,
                      (backends ?? []).map(b => b.name)
                    )
                  );
                }}
              >
                <option value="train">Training</option>
                <option value="etl">ETL (Beam)</option>
              </select>
            )}
          </Field>
        </div>
      </section>

      <section className="jp-mlp-SubmitForm-section">
        <h3>Where it runs</h3>
        <Field
          field="backend"
          label="Backend"
          errors={backendErrors}
          onSuggest={setBackend}
          hint={
            setup.length > 0 ? (
              <ul className="jp-mlp-BackendSetup" aria-label="Setup needed">
                {setup.map(line => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            ) : (
              chosenBackend?.reason || undefined
            )
          }
        >
          {input => (
            <select
              {...input}
              value={backend}
              onChange={event => setBackend(event.target.value)}
            >
              {(backends ?? []).map(b => (
                <option key={b.name} value={b.name} title={b.reason ?? ''}>
                  {b.name}
                  {b.default ? ' (default)' : ''}
                  {b.configured ? '' : ' — not configured'}
                </option>
              ))}
              {backends !== null &&
                CLOUD_BACKENDS.filter(
                  name => !backends.some(b => b.name === name)
                ).map(name => (
                  <option key={name} value={name}>
                    {name} — not installed
                  </option>
                ))}
            </select>
          )}
        </Field>
        {settings.length > 0 && (
          <div className="jp-mlp-Field-hint jp-mlp-BackendSettings">
            Server settings: {settings.join(' · ')}
          </div>
        )}
        {backend && (
          <ResourcePicker
            backend={backend}
            catalog={catalog}
            catalogError={catalogError}
            value={resources}
            errors={errors}
            warnings={warnings}
            estimate={fresh ? (validation?.estimate ?? null) : null}
            validating={!fresh}
            onMachineType={machine_type =>
              setResources(current => ({
                ...current,
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
                ...current,
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
            onChange={setResource}
          />
        )}
      </section>

      {kind === 'etl' && (
        <EtlOptions
          value={pipeline}
          backend={backend}
          errors={errors}
          onChange={setPipeline}
        />
      )}

      {sourceKind === 'code' && parameters.length > 0 && (
        <section className="jp-mlp-SubmitForm-section">
          <h3>Parameters</h3>
          <div className="jp-mlp-Field-hint">
            The job's parameters, set as variables before the code runs.
          </div>
          <ParametersTable
            rows={parameters}
            errors={errors}
            onChange={editParameter}
          />
        </section>
      )}

      {sourceKind === 'path' && conversion !== null && (
        <section className="jp-mlp-SubmitForm-section">
          <h3>Parameters</h3>
          <ParametersTable
            rows={parameters}
            errors={errors}
            onChange={editParameter}
          />
          {conversion.detected_requirements.length > 0 && (
            <fieldset className="jp-mlp-Requirements">
              <legend>Requirements found in the notebook</legend>
              {conversion.detected_requirements.map(requirement => (
                <label key={requirement}>
                  <input
                    type="checkbox"
                    checked={detected[requirement] ?? false}
                    onChange={event =>
                      setDetected(all => ({
                        ...all,
                        [requirement]: event.target.checked
                      }))
                    }
                  />
                  <code>{requirement}</code>
                </label>
              ))}
            </fieldset>
          )}
        </section>
      )}

      {kind === 'train' && (
        <SweepOptions
          value={sweepChoice}
          parameters={knownParameters}
          searched={sweepCheck.searched}
          errors={errors}
          onChange={setSweepChoice}
        />
      )}

      <section className="jp-mlp-SubmitForm-section">
        <h3>Environment</h3>
        {imageHint && (
          <Field
            field="environment"
            label="Container image"
            errors={errors}
            hint={
              <>
                {imageHint.hint}
                <WarningList
                  warnings={warnings.filter(w => w.field === 'environment')}
                />
              </>
            }
          >
            {input => (
              <input
                {...input}
                type="text"
                value={image}
                placeholder={imageHint.placeholder}
                onChange={event => setImage(event.target.value)}
              />
            )}
          </Field>
        )}
        <Field
          field="requirements"
          label="Other requirements"
          errors={errors}
          hint="Packages to install for the job, comma-separated."
        >
          {input => (
            <input
              {...input}
              type="text"
              value={extraRequirements}
              placeholder="scikit-learn, pandas>=2"
              onChange={event => setExtraRequirements(event.target.value)}
            />
          )}
        </Field>
        {sourceKind === 'path' && (
          <Field
            field="source.include"
            label="Files to ship with it"
            errors={errors}
            hint="Globs next to the source, comma-separated (helper modules, small data)."
          >
            {input => (
              <input
                {...input}
                type="text"
                value={include}
                placeholder="utils/*.py, data/*.csv"
                onChange={event => setInclude(event.target.value)}
              />
            )}
          </Field>
        )}
      </section>

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
      <div className="jp-mlp-SubmitForm-footer">
        {submitMessage !== null && (
          <div className="jp-mlp-Error" role="alert">
            Could not submit: {submitMessage}
          </div>
        )}
        {reviewing ? (
          <JobReview
            backend={chosenBackend}
            backendName={backend}
            catalog={cloudCatalog}
            resources={resources}
            estimate={fresh ? (validation?.estimate ?? null) : null}
            onBack={() => setReviewing(false)}
            onConfirm={() => void submit()}
          />
        ) : (
          <div className="jp-mlp-SubmitForm-buttons">
            <button
              type="button"
              className="jp-Button jp-mod-styled jp-mod-reject"
              onClick={props.onCancel}
            >
              Cancel
            </button>
            <button
              type="button"
              className="jp-Button jp-mod-styled jp-mod-accept"
              disabled={submitting || blocked || checking}
              aria-keyshortcuts="Control+Enter Meta+Enter"
              title={
                blocked
                  ? 'Fix the problems marked above first'
                  : checking
                    ? 'Checking the job with the server…'
                    : isCloud
                      ? 'Review the job before it is submitted (Ctrl+Enter)'
                      : 'Submit the job (Ctrl+Enter)'
              }
              onClick={requestSubmit}
            >
              {submitting
                ? 'Submitting…'
                : isCloud
                  ? 'Review and submit…'
                  : 'Submit job'}
            </button>
          </div>
        )}
      </div>
    </form>
  );
}

function ParametersTable(props: {
  rows: IParameterRow[];
  errors: readonly IFieldError[];
  onChange: (index: number, text: string) => void;
}): JSX.Element {
  if (props.rows.length === 0) {
    return (
      <div className="jp-mlp-Field-hint">
        No parameters: tag a cell <code>parameters</code> to set its variables
        per job.
      </div>
    );
  }
  return (
    <table className="jp-mlp-Parameters">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row, index) => {
          const field = `parameters.${row.name}`;
          const mine = props.errors.filter(e => e.field === field);
          const id = `jp-mlp-param-${row.name}`;
          const describedBy =
            [row.help ? `${id}-help` : '', mine.length ? `${id}-errors` : '']
              .filter(Boolean)
              .join(' ') || undefined;
          return (
            <tr key={row.name} data-field={field}>
              <th scope="row">
                <label htmlFor={id}>{row.name}</label>
                <span className="jp-mlp-Parameters-type">{row.type}</span>
              </th>
              <td>
                {row.type === 'bool' ? (
                  <input
                    id={id}
                    type="checkbox"
                    checked={row.text === 'true'}
                    aria-describedby={describedBy}
                    onChange={event =>
                      props.onChange(index, String(event.target.checked))
                    }
                  />
                ) : (
                  <input
                    id={id}
                    type="text"
                    value={row.text}
                    aria-invalid={mine.length > 0}
                    aria-describedby={describedBy}
                    spellCheck={false}
                    onChange={event =>
                      props.onChange(index, event.target.value)
                    }
                  />
                )}
                {row.help && (
                  <div className="jp-mlp-Parameters-help" id={`${id}-help`}>
                    {row.help}
                  </div>
                )}
                {mine.length > 0 && (
                  <div id={`${id}-errors`}>
                    <ErrorList errors={mine} />
                  </div>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The packages a spec lists (none for a requirements file: the form has no field for one). */
function initialRequirements(spec: IJobSubmission | undefined): string[] {
  const requirements = spec?.requirements;
  return Array.isArray(requirements) ? requirements : [];
}

function splitList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map(item => item.trim())
    .filter(Boolean);
}

function useDebounced<T>(value: T, delay: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay]);
  return debounced;
}
