/**
 * An ETL job's args as the launch form holds them: whether the pipeline
 * streams, and its other options as one shell-quoted line.
 */
import { quote } from '../panel/commandLine';

/** What the form holds of a pipeline's args. */
export interface IPipelineChoice {
  streaming: boolean;
  /** The other pipeline options, as typed (shell-quoted). */
  options: string;
}

const STREAMING = new Set(['--streaming', '--streaming=true']);

/**
 * Split a shell-quoted line into words, as the magics and the CLI do: single
 * quotes keep everything, double quotes keep all but `\"` and `\\`.
 */
export function splitArgs(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoteChar: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoteChar === "'") {
      if (char === "'") {
        quoteChar = null;
      } else {
        word += char;
      }
    } else if (quoteChar === '"') {
      if (char === '"') {
        quoteChar = null;
      } else if (char === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) {
        word += text[++i];
      } else {
        word += char;
      }
    } else if (/\s/.test(char)) {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
    } else {
      inWord = true;
      if (char === "'" || char === '"') {
        quoteChar = char;
      } else if (char === '\\' && i + 1 < text.length) {
        word += text[++i];
      } else {
        word += char;
      }
    }
  }
  if (inWord) {
    words.push(word);
  }
  return words;
}

/** A job's args as the form shows them: the streaming switch and the rest. */
export function pipelineFromArgs(
  args: readonly string[] | undefined
): IPipelineChoice {
  const all = args ?? [];
  return {
    streaming: all.some(arg => STREAMING.has(arg)),
    options: all
      .filter(arg => !STREAMING.has(arg))
      .map(quote)
      .join(' ')
  };
}

/** The args a pipeline choice sends: `--streaming` first, then the options. */
export function pipelineArgs(choice: IPipelineChoice): string[] {
  const rest = splitArgs(choice.options).filter(arg => !STREAMING.has(arg));
  return choice.streaming ? ['--streaming', ...rest] : rest;
}
