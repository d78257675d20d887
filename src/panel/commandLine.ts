/**
 * A job's spec written back as the `%mlp_train` magic or the
 * `jupyter mlp submit` command that would launch it again.
 *
 * The flags come from the submit options the Python side declares
 * (`SUBMIT_OPTIONS`, from `jupyter_mlp/submit_options.py`): a flag it adds
 * is written here too, and a test parses the written commands back with the
 * Python parsers.
 */
import { IJobSubmission, ISweepParameter } from '../api';
import { ISubmitOption, SUBMIT_OPTIONS, SWEEP_OPTIONS } from '../vocabulary';

/**
 * One alternative of `scheduling.fallbacks`: what it changes of the job
 * (unset: the job's own).
 */
export interface IFallback {
  region?: string | null;
  machine_type?: string | null;
  accelerator_type?: string | null;
  accelerator_count?: number | null;
  strategy?: string | null;
}

/** The flags shared by the magic and the command line, shell-quoted. */
export function submitFlags(spec: IJobSubmission): string[] {
  const fromFile = Boolean(spec.source.path);
  return [
    ...SUBMIT_OPTIONS.filter(
      // Source options (mode, include) are a file's; a cell job has none. An
      // alias (`--spot`) is written as the flag it stands for.
      option =>
        !option.alias &&
        (fromFile || !option.fields.some(f => f.startsWith('source.')))
    ),
    ...(spec.sweep ? SWEEP_OPTIONS : [])
  ].flatMap(option => optionWords(option, spec));
}

/**
 * A searched parameter as `--sweep` reads it: `[a,b]` for values,
 * `range(LO,HI)` for integers, `uniform(LO,HI)` or `log(LO,HI)` for doubles.
 */
export function sweepParameterText(parameter: ISweepParameter): string {
  const { min, max } = parameter;
  switch (parameter.type) {
    case 'integer':
      return `${parameter.name}=range(${min},${max})`;
    case 'double':
      return `${parameter.name}=${parameter.scale === 'log' ? 'log' : 'uniform'}(${min},${max})`;
    default:
      return `${parameter.name}=[${(parameter.values ?? []).join(',')}]`;
  }
}

/**
 * An alternative as `--fallback` reads it: a bare region, or
 * `region=R,machine=M,gpu=TYPE:COUNT,strategy=S` with what it changes
 * (`gpu=TYPE` keeps the job's count, `gpu=any:COUNT` its type).
 */
export function fallbackText(fallback: IFallback): string {
  const { region, machine_type, accelerator_type, strategy } = fallback;
  const count = fallback.accelerator_count;
  const parts: string[] = [];
  if (region) {
    parts.push(`region=${region}`);
  }
  if (machine_type) {
    parts.push(`machine=${machine_type}`);
  }
  if (accelerator_type) {
    const counted = count === null || count === undefined ? '' : `:${count}`;
    parts.push(`gpu=${shortAccelerator(accelerator_type)}${counted}`);
  } else if (count !== null && count !== undefined) {
    parts.push(`gpu=any:${count}`);
  }
  if (strategy) {
    parts.push(`strategy=${strategy}`);
  }
  return parts.length === 1 && region ? region : parts.join(',');
}

/**
 * The notebook magic: `%mlp_train PATH ...` for a file, `%%mlp_train ...`
 * followed by the code for inline code (`mlp_etl` for ETL jobs).
 */
export function asMagic(spec: IJobSubmission): string {
  const magic = spec.kind === 'etl' ? 'mlp_etl' : 'mlp_train';
  const flags = submitFlags(spec);
  if (!spec.source.path) {
    const line = magicLine(flags.join(' '));
    return `%%${magic}${line ? ' ' + line : ''}\n${spec.source.code ?? ''}`;
  }
  return (
    `%${magic} ` + magicLine([quote(spec.source.path), ...flags].join(' '))
  );
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
 * Quote for a POSIX shell (the magics split their line the same way): bare
 * when safe, else in single quotes, or double quotes around a single quote.
 */
export function quote(text: string): string {
  if (/^[\w@%+=:,./-]+$/.test(text)) {
    return text;
  }
  if (!text.includes("'")) {
    return `'${text}'`;
  }
  if (!/["$`\\!]/.test(text)) {
    return `"${text}"`;
  }
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}

/** The words one option adds for a spec: none when the spec holds its default. */
function optionWords(option: ISubmitOption, spec: IJobSubmission): string[] {
  const values = option.fields.map(field => valueAt(spec, field));
  const [value] = values;
  const flag = option.flag;
  switch (option.value) {
    case 'switch':
      return option.fields.length > 0 && value === true ? [flag] : [];
    case 'gpu': {
      const type = values[0] as string | null | undefined;
      const count = Number(values[1] ?? 0);
      return type || count > 0
        ? flagged(flag, `${type ? shortAccelerator(type) : 'any'}:${count}`)
        : [];
    }
    case 'param':
      return Object.entries((value ?? {}) as Record<string, unknown>).flatMap(
        ([name, item]) => flagged(flag, `${name}=${paramText(item)}`)
      );
    case 'label':
      return Object.entries((value ?? {}) as Record<string, string>).flatMap(
        ([key, item]) => flagged(flag, `${key}=${item}`)
      );
    case 'args': {
      const args = (value ?? []) as string[];
      // One word, `--args=...`: the arguments may start with `-` themselves.
      return args.length > 0
        ? [quote(`${flag}=${args.map(quote).join(' ')}`)]
        : [];
    }
    case 'requirements': {
      const listed = Array.isArray(value) ? value.join(',') : value;
      return listed ? flagged(flag, String(listed)) : [];
    }
    case 'repeat':
      return ((value ?? []) as string[]).flatMap(item => flagged(flag, item));
    case 'sweep':
      return ((value ?? []) as ISweepParameter[]).flatMap(parameter =>
        flagged(flag, sweepParameterText(parameter))
      );
    case 'fallback':
      return ((value ?? []) as IFallback[]).flatMap(fallback =>
        flagged(flag, fallbackText(fallback))
      );
    case 'metric':
      return value
        ? flagged(flag, `${value}:${values[1] === 'minimize' ? 'min' : 'max'}`)
        : [];
    default:
      return value === null ||
        value === undefined ||
        value === '' ||
        value === option.default
        ? []
        : flagged(flag, String(value));
  }
}

/** `--flag value`, or `--flag=value` for a value argparse would take for a flag. */
function flagged(flag: string, value: string): string[] {
  return value.startsWith('-')
    ? [quote(`${flag}=${value}`)]
    : [flag, quote(value)];
}

function valueAt(spec: IJobSubmission, field: string): unknown {
  let value: unknown = spec;
  for (const key of field.split('.')) {
    value =
      value !== null && typeof value === 'object'
        ? (value as Record<string, unknown>)[key]
        : undefined;
  }
  return value;
}

/**
 * A parameter value as `--param` reads it back (a Python/JSON literal, else
 * a string): strings stay bare unless they would read as something else.
 */
function paramText(value: unknown): string {
  if (typeof value === 'string') {
    const literal =
      /^(True|False|None|true|false|null|NaN|-?Infinity)$/.test(value) ||
      /^[-+]?[\d.]/.test(value) ||
      /^[[{("']/.test(value) ||
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u001f\u007f]/.test(value) ||
      value.trim() !== value ||
      value === '';
    return literal ? JSON.stringify(value) : value;
  }
  return JSON.stringify(value);
}

/**
 * A magic's line written so that IPython, which expands `{expr}` and `$name`
 * in it before the magic sees it, gives back `text`: braces doubled, and one
 * more `$` before a name wherever IPython would read one.
 */
function magicLine(text: string): string {
  // string.Formatter ends a stretch of text after each `{{` or `}}`; within a
  // stretch, IPython's DollarFormatter reads `$name` when an even number of
  // `'` follows it (outside single quotes, as it counts them), and gives
  // `$$name` back as `$name`.
  return text
    .split(/(?<=[{}])/)
    .map(stretch =>
      stretch.replace(/\$+(?=[\p{L}\p{N}\p{M}_.])/gu, (run, at: number) => {
        const quotes = stretch.slice(at + run.length).split("'").length - 1;
        return quotes % 2 === 0 ? run + '$' : run;
      })
    )
    .join('')
    .replace(/[{}]/g, char => char + char);
}
