/**
 * The files a job can run, as the Jupyter tree lists them: folders,
 * notebooks and Python scripts, and the paths a half-typed path may become.
 * Pure functions; `FilePicker` asks the contents API.
 */
import type { IFolderEntry } from '../api';

/** Whether a job can run `entry` (or it leads to such files: a folder). */
function runnable(entry: IFolderEntry): boolean {
  if (entry.name.startsWith('.')) {
    return false;
  }
  return entry.type === 'directory' || /\.(ipynb|py)$/.test(entry.name);
}

/** A folder's entries a job can run or that lead to some, folders first, by name. */
export function runnableEntries(
  entries: readonly IFolderEntry[]
): IFolderEntry[] {
  return entries.filter(runnable).sort((a, b) => {
    const folders =
      Number(b.type === 'directory') - Number(a.type === 'directory');
    return folders || a.name.localeCompare(b.name);
  });
}

/** The folder a typed path is in (`data/tr` -> `data`; `tr` -> the root, ''). */
export function folderOf(typed: string): string {
  const cut = typed.lastIndexOf('/');
  return cut < 0 ? '' : typed.slice(0, cut).replace(/^\/+/, '');
}

/** The folder above `folder` ('' for the root's own). */
export function parentOf(folder: string): string {
  return folderOf(folder);
}

/**
 * What `typed` may become, from its folder's entries: the runnable files and
 * folders (ending in `/`, to go on typing in) whose names start as typed.
 */
export function completions(
  typed: string,
  entries: readonly IFolderEntry[]
): string[] {
  const start = typed.slice(typed.lastIndexOf('/') + 1).toLowerCase();
  return runnableEntries(entries)
    .filter(entry => entry.name.toLowerCase().startsWith(start))
    .map(entry => (entry.type === 'directory' ? `${entry.path}/` : entry.path));
}
