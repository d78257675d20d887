/**
 * A job's spec written back as the `%mlp_train` magic or the
 * `jupyter mlp submit` command that would launch it again.
 */
import { IJobSubmission } from '../api';

/** The flags shared by the magic and the command line, in their order. */
export function submitFlags(spec: IJobSubmission): string[] {
  const flags: string[] = [];
  const add = (flag: string, value: string | number | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') {
      flags.push(flag, quote(String(value)));
    }
  };
  const resources = spec.resources ?? {};
  add('--backend', spec.backend);
  add('--name', spec.name);
  add('--machine-type', resources.machine_type);
  const count = resources.accelerator_count ?? 0;
  if (count > 0) {
    const type = resources.accelerator_type
      ? shortAccelerator(resources.accelerator_type)
      : 'any';
    add('--gpu', `${type}:${count}`);
  }
  if ((resources.replica_count ?? 1) > 1) {
    add('--replicas', resources.replica_count);
  }
  add('--region', spec.region);
  if (spec.source.path) {
    add('--mode', spec.source.mode);
    for (const glob of spec.source.include ?? []) {
      add('--include', glob);
    }
  }
  for (const [name, value] of Object.entries(spec.parameters ?? {})) {
    add('--param', `${name}=${paramText(value)}`);
  }
  const requirements = spec.requirements;
  if (Array.isArray(requirements) ? requirements.length > 0 : requirements) {
    add(
      '--requirements',
      Array.isArray(requirements) ? requirements.join(',') : requirements
    );
  }
  return flags;
}

/**
 * The notebook magic: `%mlp_train PATH ...` for a file, `%%mlp_train ...`
 * followed by the code for inline code (`mlp_etl` for ETL jobs).
 */
export function asMagic(spec: IJobSubmission): string {
  const magic = spec.kind === 'etl' ? 'mlp_etl' : 'mlp_train';
  const flags = submitFlags(spec);
  if (!spec.source.path) {
    return [`%%${magic}`, ...flags].join(' ') + '\n' + (spec.source.code ?? '');
  }
  return [`%${magic}`, quote(spec.source.path), ...flags].join(' ');
}

/**
 * The command line, or null for inline code (the command line takes a file).
 */
export function asCommandLine(spec: IJobSubmission): string | null {
  if (!spec.source.path) {
    return null;
  }
  const kind = spec.kind === 'etl' ? ['--kind', 'etl'] : [];
  return [
    'jupyter mlp submit',
    quote(spec.source.path),
    ...kind,
    ...submitFlags(spec)
  ].join(' ');
}

/**
 * The name `--gpu` takes: `NVIDIA_TESLA_T4` -> `T4`, `NVIDIA_L4` -> `L4`;
 * names whose short form differs in spelling (`NVIDIA_A100_80GB`) stay whole.
 */
export function shortAccelerator(type: string): string {
  const short = type.replace(/^NVIDIA_(TESLA_)?/, '');
  return short.includes('_') ? type : short;
}

/**
 * A parameter value as `--param` reads it back (a Python/JSON literal, else
 * a string): strings stay bare unless they would read as something else.
 */
function paramText(value: unknown): string {
  if (typeof value === 'string') {
    const literal =
      /^(True|False|None|true|false|null)$/.test(value) ||
      /^[-+]?[\d.]/.test(value) ||
      /^[[{("']/.test(value) ||
      value.trim() !== value ||
      value === '';
    return literal ? JSON.stringify(value) : value;
  }
  return JSON.stringify(value);
}

/** Quote for a POSIX shell (and IPython's magic argument splitting). */
export function quote(text: string): string {
  if (/^[\w@%+=:,./-]+$/.test(text)) {
    return text;
  }
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}
