/**
 * The path field of the launch form: typed with completions from the
 * Jupyter tree (folder by folder), or chosen in a small browser of the tree
 * that lists only folders, notebooks and Python scripts.
 */
import * as React from 'react';

import { IFolderEntry, MLPClient } from '../api';
import { IFieldInputProps } from './Field';
import { completions, folderOf, parentOf, runnableEntries } from './files';

/** A folder's entries as the contents API gives them; null while asked, a message when refused. */
function useFolder(
  client: MLPClient,
  folder: string | null
): IFolderEntry[] | string | null {
  const [listing, setListing] = React.useState<{
    folder: string;
    entries: IFolderEntry[] | string;
  } | null>(null);
  React.useEffect(() => {
    if (folder === null) {
      return;
    }
    let cancelled = false;
    client
      .listFolder(folder)
      .then(
        entries => entries,
        (error: Error) => error.message
      )
      .then(entries => {
        if (!cancelled) {
          setListing({ folder, entries });
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, folder]);
  return listing !== null && listing.folder === folder ? listing.entries : null;
}

export function PathInput(props: {
  client: MLPClient;
  input: IFieldInputProps;
  value: string;
  /** The file the form was opened on: shown, not edited. */
  readOnly: boolean;
  onChange: (path: string) => void;
}): JSX.Element {
  const { client, input, value, readOnly } = props;
  const [browsing, setBrowsing] = React.useState(false);
  const entries = useFolder(client, readOnly ? null : folderOf(value));
  const options = Array.isArray(entries) ? completions(value, entries) : [];
  const listId = `${input.id}-completions`;
  return (
    <>
      <div className="jp-mlp-FileChooser">
        <input
          {...input}
          type="text"
          value={value}
          readOnly={readOnly}
          placeholder="train.ipynb"
          // Offered once something is typed: a list popping up on opening the form would
          // take the first click elsewhere to close.
          list={readOnly || !value ? undefined : listId}
          autoComplete="off"
          spellCheck={false}
          onChange={event => props.onChange(event.target.value)}
        />
        {!readOnly && (
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-reject"
            aria-expanded={browsing}
            onClick={() => setBrowsing(!browsing)}
          >
            Browse…
          </button>
        )}
      </div>
      {!readOnly && (
        <datalist id={listId}>
          {options.map(option => (
            <option key={option} value={option} />
          ))}
        </datalist>
      )}
      {browsing && (
        <FileBrowser
          client={client}
          start={folderOf(value)}
          onChoose={path => {
            setBrowsing(false);
            props.onChange(path);
            document.getElementById(input.id)?.focus();
          }}
          onClose={() => {
            setBrowsing(false);
            document.getElementById(input.id)?.focus();
          }}
        />
      )}
    </>
  );
}

/** The Jupyter tree, a folder at a time: a folder opens, a notebook or script is chosen. */
function FileBrowser(props: {
  client: MLPClient;
  start: string;
  onChoose: (path: string) => void;
  onClose: () => void;
}): JSX.Element {
  const [folder, setFolder] = React.useState(props.start);
  const entries = useFolder(props.client, folder);
  const list = React.useRef<HTMLUListElement>(null);
  React.useEffect(() => {
    list.current?.querySelector('button')?.focus();
  }, [entries]);
  return (
    <div
      className="jp-mlp-FileBrowser"
      role="dialog"
      aria-label="Choose a notebook or script"
      onKeyDown={event => {
        if (event.key === 'Escape') {
          event.stopPropagation();
          props.onClose();
        }
      }}
    >
      <div className="jp-mlp-FileBrowser-bar">
        <button
          type="button"
          className="jp-mlp-LinkButton"
          disabled={folder === ''}
          onClick={() => setFolder(parentOf(folder))}
          title="The folder above"
        >
          ↑ Up
        </button>
        <code>/{folder}</code>
        <button
          type="button"
          className="jp-mlp-LinkButton"
          onClick={props.onClose}
        >
          Close
        </button>
      </div>
      {entries === null ? (
        <div className="jp-mlp-Field-hint">Reading the folder…</div>
      ) : typeof entries === 'string' ? (
        <div className="jp-mlp-Error">{entries}</div>
      ) : (
        <ul ref={list} aria-label={`Folder /${folder}`}>
          {runnableEntries(entries).map(entry => (
            <li key={entry.path}>
              <button
                type="button"
                className="jp-mlp-LinkButton"
                onClick={() =>
                  entry.type === 'directory'
                    ? setFolder(entry.path)
                    : props.onChoose(entry.path)
                }
              >
                {entry.type === 'directory' ? `${entry.name}/` : entry.name}
              </button>
            </li>
          ))}
          {runnableEntries(entries).length === 0 && (
            <li className="jp-mlp-Field-hint">
              No notebooks, scripts or folders here.
            </li>
          )}
        </ul>
      )}
    </div>
  );
}
