/**
 * Notebook parameters in the submit form: the defaults the server reads from a
 * `parameters` cell are Python source; the form edits them as text and sends
 * typed JSON values (numbers stay numbers, bools bools, lists lists).
 */
import { INotebookParameter } from '../api';

/** One row of the parameters table. */
export interface IParameterRow {
  name: string;
  /** The Python type of the default (`int`, `float`, `bool`, `str`, `list`, ...). */
  type: string;
  /**
   * The default as JSON; undefined when the form knows none (not a literal, or
   * a parameter only the job set), and then the value is always sent.
   */
  defaultValue: unknown;
  /** The text in the input (for `bool`: `true` / `false`). */
  text: string;
  help: string;
}

/** A row for each parameter of the notebook, its input showing the default. */
export function parameterRows(
  parameters: readonly INotebookParameter[]
): IParameterRow[] {
  return parameters.map(parameter => {
    const defaultValue = parsePythonLiteral(parameter.default);
    return {
      name: parameter.name,
      type: parameter.type,
      defaultValue,
      text:
        defaultValue === undefined
          ? parameter.default
          : formatParameter(defaultValue),
      help: parameter.help
    };
  });
}

/**
 * The rows for rerunning a job: the file's rows showing the values the job
 * gave them, then a row for each of the job's other parameters (for inline
 * code, which has no parameters cell, every one of them), typed from its value.
 */
export function rowsForJob(
  rows: readonly IParameterRow[],
  values: Readonly<Record<string, unknown>>
): IParameterRow[] {
  const declared = new Set(rows.map(row => row.name));
  const undeclared = Object.entries(values).filter(
    ([name]) => !declared.has(name)
  );
  return [
    ...rows.map(row =>
      row.name in values
        ? { ...row, text: formatParameter(values[row.name]) }
        : row
    ),
    ...undeclared.map(([name, value]) => ({
      name,
      type: pythonType(value),
      defaultValue: undefined,
      text: formatParameter(value),
      help: ''
    }))
  ];
}

/**
 * The Python type a JSON value arrives as, named as the server names a
 * parameters cell's literals. A whole number reads as `int`: JSON keeps no
 * difference between 3 and 3.0.
 */
export function pythonType(value: unknown): string {
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'string':
      return 'str';
    default:
      if (value === null) {
        return 'NoneType';
      }
      return Array.isArray(value) ? 'list' : 'dict';
  }
}

/** How a value reads in an input: strings bare, everything else as JSON. */
export function formatParameter(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export type ParsedParameter = { value: unknown } | { error: string };

/**
 * The typed value of an input's text, read by the parameter's type: a number
 * for `int`/`float`, a boolean for `bool`, JSON for lists and dicts, the text
 * itself for `str`. Other types take JSON when the text is JSON, else the text.
 */
export function parseParameter(text: string, type: string): ParsedParameter {
  const trimmed = text.trim();
  switch (type) {
    case 'int':
      return /^[-+]?\d+$/.test(trimmed)
        ? { value: Number(trimmed) }
        : { error: `'${text}' is not a whole number` };
    case 'float': {
      const value = Number(trimmed);
      return trimmed !== '' && Number.isFinite(value)
        ? { value }
        : { error: `'${text}' is not a number` };
    }
    case 'bool':
      if (/^(true|false)$/i.test(trimmed)) {
        return { value: trimmed.toLowerCase() === 'true' };
      }
      return { error: `'${text}' is not true or false` };
    case 'str':
      return { value: text };
    case 'list':
    case 'tuple':
    case 'dict': {
      const value = parseJsonish(trimmed);
      const wanted = type === 'dict' ? 'an object' : 'a list';
      const fits =
        type === 'dict'
          ? value !== null && typeof value === 'object' && !Array.isArray(value)
          : Array.isArray(value);
      return fits
        ? { value }
        : {
            error: `'${text}' is not ${wanted} in JSON (e.g. ${type === 'dict' ? '{"a": 1}' : '[1, 2]'})`
          };
    }
    default: {
      const value = parseJsonish(trimmed);
      return { value: value === undefined ? text : value };
    }
  }
}

/**
 * The parameters to send: only those whose value differs from the notebook's
 * default (the job uses the defaults for the rest; a row without a known
 * default is always sent), and the error of each row that does not parse.
 */
export function changedParameters(rows: readonly IParameterRow[]): {
  values: Record<string, unknown>;
  errors: Record<string, string>;
} {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const row of rows) {
    const parsed = parseParameter(row.text, row.type);
    if ('error' in parsed) {
      errors[row.name] = parsed.error;
    } else if (!sameJson(parsed.value, row.defaultValue)) {
      values[row.name] = parsed.value;
    }
  }
  return { values, errors };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** JSON, or a Python literal; undefined when the text is neither. */
function parseJsonish(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return parsePythonLiteral(text);
  }
}

/**
 * A Python literal (numbers, strings, True/False/None, lists, tuples, dicts)
 * as JSON; undefined for anything else (an expression, a call).
 */
export function parsePythonLiteral(source: string): unknown {
  const reader = new LiteralReader(source);
  try {
    const value = reader.value();
    reader.skipSpace();
    return reader.done() ? value : undefined;
  } catch {
    return undefined;
  }
}

class LiteralReader {
  constructor(private readonly _text: string) {}

  done(): boolean {
    return this._at >= this._text.length;
  }

  skipSpace(): void {
    while (!this.done() && /\s/.test(this._text[this._at])) {
      this._at++;
    }
  }

  value(): unknown {
    this.skipSpace();
    const char = this._text[this._at];
    if (char === '[' || char === '(') {
      return this._sequence(char === '[' ? ']' : ')');
    }
    if (char === '{') {
      return this._dict();
    }
    if (char === '"' || char === "'") {
      return this._string();
    }
    const word =
      /^[-+]?(\d[\d_]*\.?[\d_]*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?)|^[A-Za-z_]\w*/i.exec(
        this._text.slice(this._at)
      );
    if (!word) {
      throw new Error('not a literal');
    }
    this._at += word[0].length;
    const constants: Record<string, unknown> = {
      True: true,
      False: false,
      None: null
    };
    if (word[0] in constants) {
      return constants[word[0]];
    }
    const number = Number(word[0].replace(/_/g, ''));
    if (Number.isNaN(number)) {
      throw new Error('not a literal');
    }
    return number;
  }

  private _sequence(close: string): unknown[] {
    this._at++;
    const items: unknown[] = [];
    for (;;) {
      this.skipSpace();
      if (this._text[this._at] === close) {
        this._at++;
        return items;
      }
      items.push(this.value());
      this._separator(close);
    }
  }

  private _dict(): Record<string, unknown> {
    this._at++;
    const result: Record<string, unknown> = {};
    for (;;) {
      this.skipSpace();
      if (this._text[this._at] === '}') {
        this._at++;
        return result;
      }
      const key = this.value();
      this.skipSpace();
      if (this._text[this._at] !== ':') {
        throw new Error('expected :');
      }
      this._at++;
      result[String(key)] = this.value();
      this._separator('}');
    }
  }

  private _separator(close: string): void {
    this.skipSpace();
    if (this._text[this._at] === ',') {
      this._at++;
    } else if (this._text[this._at] !== close) {
      throw new Error(`expected , or ${close}`);
    }
  }

  private _string(): string {
    const quote = this._text[this._at++];
    let result = '';
    const escapes: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '0': '\0'
    };
    while (!this.done()) {
      const char = this._text[this._at++];
      if (char === quote) {
        return result;
      }
      if (char === '\\') {
        const next = this._text[this._at++];
        result += escapes[next] ?? next;
      } else {
        result += char;
      }
    }
    throw new Error('unterminated string');
  }

  private _at = 0;
}
