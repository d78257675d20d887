/**
 * The launch form's choices, worked out from what the server reports: which
 * accelerators a machine type takes and in what counts, why the others are
 * not offered, what a choice comes with (conditions, unknown prices), and
 * what a backend still needs before it takes jobs. Pure functions; the
 * server's validation stays the judge.
 */
import {
  IBackendInfo,
  ICatalogAccelerator,
  ICatalogMachineType,
  ICloudCatalog,
  IEstimate,
  IFieldError,
  ILocalCatalog
} from '../api';

/** An option of a select: shown disabled with its reason when not valid. */
export interface IChoice<T = string> {
  value: T;
  label: string;
  disabled: boolean;
  /** Why it cannot be chosen (shown as the option's title). */
  reason?: string;
}

/** Machine types grouped by family, in catalog order. */
export function machineGroups(
  catalog: ICloudCatalog
): { family: string; machines: IChoice[] }[] {
  const groups = new Map<string, IChoice[]>();
  for (const machine of catalog.machine_types) {
    const gpus = machine.accelerators
      .map(a => `${shortName(catalog, a.type)}×${a.counts.join('/')}`)
      .join(', ');
    const price =
      machine.hourly_usd === null
        ? ' · price not known'
        : ` · ${formatUsd(machine.hourly_usd)}/h`;
    const label = `${machine.name} · ${machine.vcpus} vCPU · ${machine.memory_gb} GB${price}`;
    const takes = gpus ? `Takes ${gpus}` : 'Takes no accelerators';
    const list = groups.get(machine.family) ?? [];
    list.push({
      value: machine.name,
      label,
      disabled: false,
      reason: machine.conditions ? `${takes}. ${machine.conditions}` : takes
    });
    groups.set(machine.family, list);
  }
  return [...groups].map(([family, machines]) => ({ family, machines }));
}

/**
 * Every accelerator of the catalog, enabled when `machineName` takes it (in
 * `region`, when the catalog lists where each is offered).
 */
export function acceleratorChoices(
  catalog: ICloudCatalog,
  machineName: string,
  region: string
): IChoice[] {
  const machine = findMachine(catalog, machineName);
  const none: IChoice = {
    value: '',
    label: 'None',
    disabled: false
  };
  if (machine && builtIn(machine)) {
    none.disabled = true;
    none.reason = `${machine.name} comes with ${takesText(catalog, machine)}`;
  }
  const choices = catalog.accelerators.map(accelerator => {
    const choice: IChoice = {
      value: accelerator.type,
      label: acceleratorLabel(accelerator),
      disabled: false
    };
    const reason = acceleratorProblem(catalog, machine, accelerator, region);
    if (reason) {
      choice.disabled = true;
      choice.reason = reason;
    }
    return choice;
  });
  return [none, ...choices];
}

/**
 * The counts of `acceleratorType` anything in the catalog takes, enabled when
 * `machineName` takes that many.
 */
export function countChoices(
  catalog: ICloudCatalog,
  machineName: string,
  acceleratorType: string
): IChoice<number>[] {
  if (!acceleratorType) {
    return [{ value: 0, label: '0', disabled: false }];
  }
  const all = new Set<number>();
  for (const machine of catalog.machine_types) {
    for (const option of machine.accelerators) {
      if (option.type === acceleratorType) {
        option.counts.forEach(count => all.add(count));
      }
    }
  }
  const machine = findMachine(catalog, machineName);
  const takes =
    machine?.accelerators.find(a => a.type === acceleratorType)?.counts ?? [];
  const short = shortName(catalog, acceleratorType);
  return [...all]
    .sort((a, b) => a - b)
    .map(count => {
      const fits = !machine || takes.includes(count);
      return {
        value: count,
        label: String(count),
        disabled: !fits,
        reason: fits
          ? undefined
          : takes.length > 0
            ? `${machine!.name} takes ${takes.join('/')} ${short}`
            : `${machine!.name} takes no ${short}`
      };
    });
}

/**
 * What to fill in when a machine type is chosen, so that the choice never
 * keeps an accelerator the machine cannot take: a machine with built-in
 * accelerators brings its own (in its own count), one that cannot take the
 * chosen accelerator drops it. An accelerator the machine takes is kept, and
 * so is its count on a machine that attaches GPUs (validation judges that).
 */
export function fillForMachine(
  catalog: ICloudCatalog,
  machineName: string,
  current: { accelerator_type: string; accelerator_count: number }
): { accelerator_type: string; accelerator_count: number } {
  const machine = findMachine(catalog, machineName);
  if (!machine) {
    return current;
  }
  const taken = machine.accelerators.find(
    a => a.type === current.accelerator_type
  );
  if (builtIn(machine)) {
    const own = taken ?? machine.accelerators[0];
    return own.type === current.accelerator_type &&
      own.counts.includes(current.accelerator_count)
      ? current
      : { accelerator_type: own.type, accelerator_count: own.counts[0] };
  }
  if (!current.accelerator_type || taken) {
    return current;
  }
  return { accelerator_type: '', accelerator_count: 0 };
}

/**
 * A server message as the picker shows it: accelerators by their short names
 * (`A100`, not `NVIDIA_TESLA_A100`), and long lists of names cut to their
 * first few (`…, and 13 more`) so that they fit a narrow column. A list the
 * server already cut (`…, us-west4 and 3 more`) is cut once, its counts added.
 */
export function readableMessage(
  catalog: ICloudCatalog | null,
  message: string
): string {
  return message
    .replace(/\b(?:NVIDIA|TPU)_[A-Z0-9_]+\b/g, type => shortName(catalog, type))
    .replace(
      /((?:[\w./-]+, ){5,}[\w./-]+)(?: and (\d+) more)?/g,
      (_, list: string, more?: string) =>
        abbreviate(list.split(', '), Number(more ?? 0))
    );
}

/** The count to show when an accelerator type is chosen. */
export function countForAccelerator(
  catalog: ICloudCatalog,
  machineName: string,
  acceleratorType: string,
  current: number
): number {
  if (!acceleratorType) {
    return 0;
  }
  const takes =
    findMachine(catalog, machineName)?.accelerators.find(
      a => a.type === acceleratorType
    )?.counts ?? [];
  if (takes.includes(current)) {
    return current;
  }
  return takes[0] ?? Math.max(1, current);
}

/** Local GPUs: counts up to the number present. */
export function localCountChoices(catalog: ILocalCatalog): IChoice<number>[] {
  const total = catalog.gpus.length;
  const busy = catalog.gpus.filter(gpu => gpu.job_id).length;
  const choices: IChoice<number>[] = [];
  for (let count = 0; count <= total; count++) {
    choices.push({
      value: count,
      label: String(count),
      disabled: false,
      reason:
        count > total - busy
          ? `${busy} of ${total} GPU(s) are busy: the job waits until ${count} are free`
          : undefined
    });
  }
  return choices;
}

/** What the picker says of a choice beyond its price. */
export interface IChoiceNotes {
  /** What the service requires before it runs the chosen machine type, if anything. */
  conditions: string | null;
  /** The chosen machine and accelerator without a known price, each with why. */
  unpriced: { item: string; why: string }[];
}

/** The notes of a machine/accelerator choice, from the catalog. */
export function choiceNotes(
  catalog: ICloudCatalog,
  choice: {
    machine_type: string;
    accelerator_type: string;
    accelerator_count: number;
  }
): IChoiceNotes {
  const machine = findMachine(catalog, choice.machine_type);
  const accelerator = catalog.accelerators.find(
    a => a.type === choice.accelerator_type
  );
  const unpriced: IChoiceNotes['unpriced'] = [];
  const why = (note: string | null) =>
    (note ?? '').replace(/^price not known:\s*/, '') || 'no list price';
  if (machine && machine.hourly_usd === null) {
    unpriced.push({ item: machine.name, why: why(machine.price_note) });
  }
  if (
    accelerator &&
    choice.accelerator_count > 0 &&
    accelerator.hourly_usd === null
  ) {
    unpriced.push({
      item: accelerator.short_name,
      why: why(accelerator.price_note)
    });
  }
  return { conditions: machine?.conditions ?? null, unpriced };
}

/**
 * The warnings the picker's own notes do not already say: the server warns of
 * a machine's conditions and of unknown prices with the catalog's words,
 * which the picker shows under the machine type and in the estimate.
 */
export function unsaidWarnings(
  warnings: readonly IFieldError[],
  notes: IChoiceNotes
): IFieldError[] {
  const said = [
    ...(notes.conditions ? [notes.conditions] : []),
    ...notes.unpriced.map(entry => entry.why)
  ];
  return warnings.filter(
    warning => !said.some(text => warning.message.includes(text))
  );
}

/** The Python extra that installs a backend the server lacks (none: it comes with the package). */
const BACKEND_EXTRAS: Record<string, string> = {
  dataflow: 'jupyter_mlp[dataflow]'
};

/**
 * What a person must do before `name` takes jobs, one line each; empty when
 * it is ready. `info` is the server's status of it (undefined: not installed).
 */
export function backendSetup(
  name: string,
  info: IBackendInfo | undefined
): string[] {
  if (info === undefined) {
    const extra = BACKEND_EXTRAS[name];
    return [
      `The ${name} backend is not installed on this server` +
        (extra ? `: pip install ${extra}` : '.')
    ];
  }
  if (!info.available) {
    return [
      `The ${name} backend cannot run: ${info.reason || 'not available'}`
    ];
  }
  return (info.missing ?? []).map(missing =>
    // `VertexBackend.staging_bucket` is a traitlets setting of the server; others (credentials) say how themselves.
    /^\w+\.\w+$/.test(missing.setting)
      ? `Set c.${missing.setting} in jupyter_server_config.py: ${missing.message}`
      : missing.message
  );
}

/** A backend's server settings worth showing (`project my-proj`), unset ones left out. */
export function backendSettings(info: IBackendInfo | undefined): string[] {
  return Object.entries(info?.settings ?? {})
    .filter(([, value]) => value !== null && value !== '' && value !== false)
    .map(([key, value]) => `${key.replace(/_/g, ' ')} ${String(value)}`);
}

/** `NVIDIA_TESLA_T4` as the catalog's short name (`T4`). */
export function shortName(catalog: ICloudCatalog | null, type: string): string {
  const known = catalog?.accelerators.find(a => a.type === type)?.short_name;
  return known ?? type.replace(/^NVIDIA_(TESLA_)?/, '');
}

/** US dollars with cents, or more digits below a dollar. */
export function formatUsd(value: number): string {
  return `$${value < 1 ? value.toFixed(3) : value.toFixed(2)}`;
}

function acceleratorLabel(accelerator: ICatalogAccelerator): string {
  const memory = accelerator.memory_gb ? ` · ${accelerator.memory_gb} GB` : '';
  const price =
    accelerator.hourly_usd === null
      ? ' · price not known'
      : ` · ${formatUsd(accelerator.hourly_usd)}/h each`;
  return `${accelerator.short_name}${memory}${price}`;
}

/**
 * Whether `accelerator` is offered in `region`: null where the catalog's
 * accelerator data does not cover the region (not known, not refused).
 */
export function offeredIn(
  catalog: ICloudCatalog,
  accelerator: ICatalogAccelerator,
  region: string
): boolean | null {
  const covered = catalog.gpu_regions ?? catalog.regions;
  if (!covered.includes(region)) {
    return null;
  }
  return accelerator.regions.includes(region);
}

/**
 * The region select's options, the default region first: each marked when the
 * chosen machine type or accelerator is not offered there (disabled, with
 * where it is), or when whether it is offered is not known. A region the
 * catalog does not list (a rerun job's) is kept, marked as such.
 */
export function regionChoices(
  catalog: ICloudCatalog,
  machineName: string,
  acceleratorType: string,
  current: string
): IChoice[] {
  const machine = findMachine(catalog, machineName);
  // What the region must offer: the chosen accelerator, or the one built into the machine.
  const needed =
    acceleratorType ||
    (machine && builtIn(machine) ? machine.accelerators[0].type : '');
  const accelerator = catalog.accelerators.find(a => a.type === needed);
  const regions = [
    catalog.default_region,
    ...catalog.regions.filter(r => r !== catalog.default_region)
  ];
  if (current && !regions.includes(current)) {
    regions.push(current);
  }
  return regions.map(region => {
    const value = region === catalog.default_region ? '' : region;
    const label = value ? region : `${region} (default)`;
    if (!catalog.regions.includes(region)) {
      return {
        value,
        label: `${label} · not in the catalog`,
        disabled: false,
        reason: `${region} is not among the catalog's regions: it is sent to Google as given`
      };
    }
    if (!accelerator) {
      return { value, label, disabled: false };
    }
    const what =
      machine && builtIn(machine) ? machine.name : accelerator.short_name;
    const offered = offeredIn(catalog, accelerator, region);
    if (offered === null) {
      return {
        value,
        label: `${label} · ${what}: not known`,
        disabled: false,
        reason: `Whether ${accelerator.short_name} is offered in ${region} is not known; known in ${accelerator.regions.join(', ')}`
      };
    }
    if (!offered) {
      return {
        value,
        label: `${label} · no ${what}`,
        disabled: value !== current,
        reason: `${accelerator.short_name} is not offered in ${region}; offered in ${accelerator.regions.join(', ')}`
      };
    }
    return { value, label, disabled: false };
  });
}

/**
 * The image field of a backend that runs jobs in container images (its
 * catalog says which image a job naming none gets): what the empty field
 * stands for and why. Null for other backends.
 */
export function imageField(
  catalog: ICloudCatalog | null,
  acceleratorType: string,
  acceleratorCount: number
): { placeholder: string; hint: string } | null {
  const defaults = catalog?.default_containers;
  if (!defaults) {
    return null;
  }
  const hardware =
    !acceleratorType || acceleratorCount <= 0
      ? 'cpu'
      : acceleratorType.toUpperCase().startsWith('TPU')
        ? 'tpu'
        : 'gpu';
  const chosen = defaults[hardware];
  if (!chosen) {
    return null;
  }
  if (!chosen.uri) {
    // The server's answer for the field says why, next to it.
    return {
      placeholder: 'an image to run in (none can be chosen for you)',
      hint: `Empty: no image can be chosen for ${hardware.toUpperCase()} jobs; name one here, or set VertexBackend.default_image on the server.`
    };
  }
  return {
    placeholder: chosen.uri,
    hint: `Empty: ${chosen.uri}, chosen for ${hardware.toUpperCase()} jobs (${chosen.reason}).`
  };
}

function acceleratorProblem(
  catalog: ICloudCatalog,
  machine: ICatalogMachineType | undefined,
  accelerator: ICatalogAccelerator,
  region: string
): string | null {
  const where = region || catalog.default_region;
  if (
    where &&
    accelerator.regions.length &&
    offeredIn(catalog, accelerator, where) === false
  ) {
    return `${accelerator.short_name} is not offered in ${where}; offered in ${accelerator.regions.join(', ')}`;
  }
  if (!machine || machine.accelerators.some(a => a.type === accelerator.type)) {
    return null;
  }
  const takers = catalog.machine_types
    .filter(m => m.accelerators.some(a => a.type === accelerator.type))
    .map(m => m.name);
  const alternatives = takers.length
    ? `; machine types with ${accelerator.short_name}: ${abbreviate(takers)}`
    : '';
  if (machine.accelerators.length === 0) {
    return `${machine.name} takes no accelerators${alternatives}`;
  }
  return `${machine.name} takes ${takesText(catalog, machine)}, not ${accelerator.short_name}${alternatives}`;
}

function takesText(catalog: ICloudCatalog, machine: ICatalogMachineType) {
  return machine.accelerators
    .map(a => `${a.counts.join('/')} ${shortName(catalog, a.type)}`)
    .join(' or ');
}

/** The first few of `names`, and how many more there are (`more`: left out already). */
function abbreviate(names: string[], more = 0): string {
  const shown = names.slice(0, 4);
  const left = names.length - shown.length + more;
  return left > 0 ? `${shown.join(', ')} and ${left} more` : names.join(', ');
}

function builtIn(machine: ICatalogMachineType): boolean {
  // Accelerator-optimized types (a2, a3, g2, TPU hosts) come with theirs.
  return !machine.family.startsWith('n1') && machine.accelerators.length > 0;
}

function findMachine(
  catalog: ICloudCatalog,
  name: string
): ICatalogMachineType | undefined {
  return catalog.machine_types.find(machine => machine.name === name);
}

/**
 * An estimate's parts as lines for the page: each priced item per hour
 * (`2 × T4: $0.805/h`), then how many copies run (`× 3 replicas`) when more
 * than one does.
 */
export function estimateLines(
  estimate: IEstimate,
  catalog: ICloudCatalog | null,
  copies: { count: number; what: string }
): string[] {
  const lines = estimate.breakdown.map(({ item, usd_per_hour }) => {
    const name = item.replace(
      /^(\d+) x (\S+)$/,
      (_, count: string, type: string) =>
        `${count} × ${shortName(catalog, type)}`
    );
    return `${name}: ${formatUsd(usd_per_hour)}/h`;
  });
  if (copies.count > 1) {
    lines.push(`× ${copies.count} ${copies.what}`);
  }
  return lines;
}

/**
 * The catalog with `priced`'s prices: the catalog of the same backend in the
 * chosen region. What is offered stays the whole catalog's (the picker marks
 * what a region lacks); a machine or accelerator `priced` leaves out keeps
 * its price.
 */
export function withRegionPrices(
  catalog: ICloudCatalog,
  priced: ICloudCatalog
): ICloudCatalog {
  const machines = new Map(priced.machine_types.map(m => [m.name, m]));
  const accelerators = new Map(priced.accelerators.map(a => [a.type, a]));
  return {
    ...catalog,
    region: priced.region,
    machine_types: catalog.machine_types.map(machine => {
      const there = machines.get(machine.name);
      return there
        ? {
            ...machine,
            hourly_usd: there.hourly_usd,
            price_note: there.price_note
          }
        : machine;
    }),
    accelerators: catalog.accelerators.map(accelerator => {
      const there = accelerators.get(accelerator.type);
      return there
        ? {
            ...accelerator,
            hourly_usd: there.hourly_usd,
            price_note: there.price_note
          }
        : accelerator;
    })
  };
}
