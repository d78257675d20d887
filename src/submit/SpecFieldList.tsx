/**
 * A job's settings that are not at their defaults, as a definition list
 * (the review step and the job's detail).
 */
import * as React from 'react';

import { IJobSubmission } from '../api';
import { specFields } from './specFields';

export function SpecFieldList(props: {
  spec: IJobSubmission;
  /** Fields said elsewhere on the page. */
  skip?: ReadonlySet<string>;
  className: string;
  /** The list's accessible name. */
  label: string;
}): JSX.Element | null {
  const fields = specFields(props.spec).filter(f => !props.skip?.has(f.field));
  if (fields.length === 0) {
    return null;
  }
  return (
    <dl className={props.className} aria-label={props.label}>
      {fields.map(f => (
        <React.Fragment key={f.field}>
          <dt data-field={f.field}>{f.label}</dt>
          <dd>{f.value}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}
