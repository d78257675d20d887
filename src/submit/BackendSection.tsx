/**
 * The launch form's "Where it runs": the server's installed backends, what
 * the chosen one still needs, and the panels under it (its resources).
 */
import * as React from 'react';

import { IBackendInfo, IFieldError } from '../api';
import { Field } from './Field';
import { IFormState } from './formModel';
import { backendSettings, backendSetup } from './picker';

export function BackendSection(props: {
  state: IFormState;
  backends: readonly IBackendInfo[] | null;
  chosenBackend: IBackendInfo | undefined;
  errors: readonly IFieldError[];
  setState: (change: (current: IFormState) => IFormState) => void;
  /** The panels under the backend (its resource picker). */
  children?: React.ReactNode;
}): JSX.Element {
  const { state, backends, chosenBackend, errors } = props;
  const { backend } = state;
  // Until the server answered, nothing is known of the backend: say nothing yet.
  const setup = backends === null ? [] : backendSetup(backend, chosenBackend);
  const settings = backendSettings(chosenBackend);
  // The server also refuses the spec for each missing setting: the setup lines say those.
  const backendErrors = errors.filter(
    e =>
      e.field !== 'backend' ||
      !(chosenBackend?.missing ?? []).some(m => e.message.includes(m.message))
  );
  const setBackend = (name: string) =>
    props.setState(current => ({ ...current, backend: name }));
  return (
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
            {/* A rerun's backend the server lacks stays chosen, said to be missing. */}
            {backends !== null &&
              backend &&
              !backends.some(b => b.name === backend) && (
                <option value={backend}>{backend} — not installed</option>
              )}
          </select>
        )}
      </Field>
      {settings.length > 0 && (
        // The server's own paths and endpoints are for whoever runs it: out of the way.
        <details className="jp-mlp-Field-hint jp-mlp-BackendSettings">
          <summary>Server details</summary>
          <ul aria-label="Server settings">
            {settings.map(line => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </details>
      )}
      {props.children}
    </section>
  );
}
