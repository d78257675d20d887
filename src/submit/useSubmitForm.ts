/**
 * The launch form's model in React: the person's choices (`IFormState`), and
 * what the server says of them (its backends, catalogs, the file's reading,
 * the check of the spec, debounced), with the submit and the cloud review.
 */
import { useEffect, useMemo, useRef, useState } from 'react';

import {
  Catalog,
  IBackendInfo,
  ICloudCatalog,
  IFieldError,
  IJob,
  IJobSubmission,
  ISchedule,
  IValidation,
  MLPApiError,
  MLPClient,
  isLocalCatalog
} from '../api';
import {
  IScheduleChoice,
  fromSchedule,
  runNow,
  saveSchedule
} from './scheduleChoice';
import {
  IFormState,
  ISubmitDefaults,
  emptyForm,
  fitToCatalog,
  formChecks,
  fromJob,
  leftOut,
  preferredBackend,
  readsFile,
  toSpec,
  validationRequest,
  withConversion,
  withoutConversion
} from './formModel';
import { withRegionPrices } from './picker';

const VALIDATE_DELAY_MS = 400;

export interface ISubmitFormOptions {
  client: MLPClient;
  path?: string;
  defaults: ISubmitDefaults;
  initial?: IJobSubmission;
  onSubmitted: (job: IJob) => void;
  /** The schedule being edited (the form opens on its spec and times). */
  schedule?: ISchedule;
  /** Called with the schedule created or changed, when "On a schedule" was chosen. */
  onScheduled?: (schedule: ISchedule) => void;
}

/** The form's state and the server's answers about it. */
export function useSubmitForm(options: ISubmitFormOptions) {
  const { client, defaults, initial } = options;
  const [state, setState] = useState<IFormState>(() =>
    initial
      ? fromJob(initial, defaults, options.path)
      : emptyForm(defaults, options.path)
  );
  const update = (patch: Partial<IFormState>) =>
    setState(current => ({ ...current, ...patch }));
  const [schedule, setSchedule] = useState<IScheduleChoice>(() =>
    options.schedule ? fromSchedule(options.schedule) : runNow()
  );
  const [backends, setBackends] = useState<IBackendInfo[] | null>(null);
  const [catalogs, setCatalogs] = useState<Record<string, Catalog | string>>(
    {}
  );
  const { backend, sourceKind, path } = state;

  // The backends the server has installed.
  useEffect(() => {
    let cancelled = false;
    client
      .listBackends()
      .catch(() => [] as IBackendInfo[])
      .then(list => {
        if (!cancelled) {
          setBackends(list);
          const preferred = preferredBackend(list, defaults.backend);
          setState(current =>
            current.backend ? current : { ...current, backend: preferred }
          );
        }
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
    const keep = (entry: Catalog | string) => {
      if (!cancelled) {
        setCatalogs(all => ({ ...all, [backend]: entry }));
      }
    };
    client
      .getCatalog(backend)
      .then(keep)
      .catch((error: Error) => keep(error.message));
    return () => {
      cancelled = true;
    };
  }, [client, backend, catalogs]);

  const catalogEntry = catalogs[backend];
  const catalog = useRegionPrices(
    client,
    typeof catalogEntry === 'object' ? catalogEntry : null,
    state.resources.region
  );
  const catalogError = typeof catalogEntry === 'string' ? catalogEntry : null;
  const chosenBackend = backends?.find(b => b.name === backend);
  const capabilities = chosenBackend?.capabilities;

  useEffect(() => {
    if (catalog) {
      setState(current => {
        const resources = fitToCatalog(
          current.resources,
          catalog,
          defaults.machineType
        );
        return resources === current.resources
          ? current
          : { ...current, resources };
      });
    }
  }, [catalog, defaults.machineType]);

  // The file's parameters and requirements, read by the server; a rerun's spec
  // chooses their values once.
  const pendingInitial = useRef(initial);
  const debouncedPath = useDebounced(path, 400);
  /** The last path the server answered for (read, or refused). */
  const [readPath, setReadPath] = useState<string | null>(null);
  useEffect(() => {
    setState(withoutConversion);
    if (sourceKind !== 'path' || !readsFile(debouncedPath)) {
      return;
    }
    let cancelled = false;
    client
      .convert({ kind: 'train', source: { path: debouncedPath } })
      .then(answer => {
        if (!cancelled) {
          setReadPath(debouncedPath);
          const start = pendingInitial.current;
          pendingInitial.current = undefined;
          setState(current => withConversion(current, answer, start));
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

  const checks = useMemo(() => formChecks(state), [state]);
  const spec = useMemo(
    () => toSpec(state, catalog, capabilities, checks),
    [state, catalog, capabilities, checks]
  );
  const specKey = JSON.stringify(spec);

  const [validation, setValidation] = useState<IValidation | null>(null);
  const [validatedKey, setValidatedKey] = useState('');
  /** The spec whose check could not be made (the server did not answer): not waited for. */
  const [uncheckedKey, setUncheckedKey] = useState<string | null>(null);
  const [submitErrors, setSubmitErrors] = useState<IFieldError[] | null>(null);
  const [submitMessage, setSubmitMessage] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  // A cloud job is reviewed (where, what, the cost) before it is submitted.
  const [reviewing, setReviewing] = useState(false);

  // Validate every change, a moment after the typing stops.
  const backendsKnown = backends !== null;
  const latest = useRef('');
  useEffect(() => {
    latest.current = specKey;
    setSubmitErrors(null);
    setSubmitMessage(null);
    setReviewing(false);
    // The spec's resource fields are the backend's capabilities': known with the backends.
    if (!backend || catalogEntry === undefined || !backendsKnown) {
      return;
    }
    const timer = window.setTimeout(() => {
      const request = validationRequest(
        JSON.parse(specKey) as IJobSubmission,
        sourceKind
      );
      client
        .validate(request)
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
  }, [client, specKey, backend, catalogEntry, backendsKnown, sourceKind]);

  // A schedule is made only where the backend can run one (or one is edited).
  const scheduling =
    schedule.when === 'schedule' &&
    (options.schedule !== undefined || (capabilities?.schedules ?? false));

  const submit = async () => {
    setReviewing(false);
    setSubmitting(true);
    setSubmitMessage(null);
    try {
      if (scheduling) {
        const saved = await saveSchedule(client, {
          choice: schedule,
          spec,
          capabilities,
          editing: options.schedule
        });
        options.onScheduled?.(saved);
      } else {
        options.onSubmitted(await client.submitJob(spec));
      }
    } catch (error) {
      if (error instanceof MLPApiError && error.errors.length) {
        setSubmitErrors(error.errors);
      }
      setSubmitMessage((error as Error).message);
    } finally {
      setSubmitting(false);
    }
  };

  return {
    state,
    setState,
    update,
    backends,
    chosenBackend,
    capabilities,
    catalog,
    catalogError,
    checks,
    /** The spec the form posts, as it is now. */
    spec,
    /** Options set in the form that the chosen backend does not take (not sent). */
    leftOut: leftOut(state, capabilities),
    validation,
    submitErrors,
    submitMessage,
    submitting,
    reviewing,
    setReviewing,
    submit,
    /** Run now, or on a schedule (and when). */
    schedule,
    setSchedule,
    /** Whether submitting saves a schedule rather than running the job now. */
    scheduling,
    /** What a cloud launch of the spec needs, asked when the review opens. */
    preflight: () => client.preflight(validationRequest(spec, sourceKind)),
    /** Whether the server's answer is for the spec as it is now. */
    fresh: validatedKey === specKey,
    checkFailed: uncheckedKey === specKey,
    /** Whether the file as it is now has been read (or refused) by the server. */
    fileRead: !(sourceKind === 'path' && readsFile(path) && readPath !== path)
  };
}

export type SubmitFormModel = ReturnType<typeof useSubmitForm>;

function useDebounced<T>(value: T, delay: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay]);
  return debounced;
}

/**
 * `catalog` priced in `region` (the default region's prices until the
 * region's are in, and where they cannot be had).
 */
function useRegionPrices(
  client: MLPClient,
  catalog: Catalog | null,
  region: string
): Catalog | null {
  const [priced, setPriced] = useState<ICloudCatalog | null>(null);
  const cloud = catalog !== null && !isLocalCatalog(catalog) ? catalog : null;
  const wanted =
    cloud !== null && region && region !== cloud.default_region ? region : '';
  useEffect(() => {
    if (cloud === null || !wanted) {
      return;
    }
    let cancelled = false;
    client
      .getCatalog(cloud.backend, wanted)
      .then(answer => {
        if (!cancelled && !isLocalCatalog(answer)) {
          setPriced(answer);
        }
      })
      .catch(() => {
        // Not a region the catalog knows: the server's check says so at the field.
      });
    return () => {
      cancelled = true;
    };
  }, [client, cloud, wanted]);
  return useMemo(
    () =>
      cloud !== null &&
      priced !== null &&
      wanted &&
      priced.backend === cloud.backend &&
      priced.region === wanted
        ? withRegionPrices(cloud, priced)
        : catalog,
    [catalog, cloud, priced, wanted]
  );
}
