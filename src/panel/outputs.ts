/**
 * Which of a job's outputs the detail links: those that exist (and, once
 * the job ended, hold something), as the server's listing of them says.
 */
import { IJobOutputs, IOutputEntry } from '../api';

/** An output the detail can link. */
export interface IShownOutput {
  key: keyof IJobOutputs;
  label: string;
  folder: boolean;
  path: string;
}

/** Labels of the outputs a job may have, in the order shown, and whether each is a folder. */
const OUTPUTS: { key: keyof IJobOutputs; label: string; folder: boolean }[] = [
  { key: 'log', label: 'Log', folder: false },
  { key: 'executed_notebook', label: 'Executed notebook', folder: false },
  { key: 'model_dir', label: 'Model directory', folder: true },
  { key: 'folder', label: 'Output folder', folder: true }
];

/**
 * Whether a listed output is worth a link: there, and once the job has ended
 * not empty (an empty log or folder says nothing; a live job may still fill it).
 */
function worthLinking(entry: IOutputEntry, ended: boolean): boolean {
  if (!entry.exists) {
    return false;
  }
  if (!ended) {
    return true;
  }
  if (entry.type === 'directory') {
    return (entry.file_count ?? entry.files?.length ?? 1) > 0;
  }
  return entry.size === null || entry.size === undefined || entry.size > 0;
}

/**
 * The outputs to link: the job's, less those the listing says are missing
 * (or, for an ended job, empty). Without a listing (it could not be read)
 * every output is linked.
 */
export function shownOutputs(
  outputs: IJobOutputs | undefined,
  listing: readonly IOutputEntry[] | null,
  ended: boolean
): IShownOutput[] {
  const listed = new Map((listing ?? []).map(entry => [entry.name, entry]));
  return OUTPUTS.filter(output => {
    if (!outputs?.[output.key]) {
      return false;
    }
    const entry = listed.get(output.key);
    return (
      listing === null || (entry !== undefined && worthLinking(entry, ended))
    );
  }).map(output => ({ ...output, path: outputs?.[output.key] as string }));
}
