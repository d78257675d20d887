/**
 * A small button showing only an icon, with its label for screen readers and
 * its title as the tooltip.
 */
import type { LabIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

export function IconButton(props: {
  icon: LabIcon;
  label: string;
  title: string;
  onClick: () => void;
  className?: string;
}): JSX.Element {
  const Icon = props.icon.react;
  return (
    <button
      className={['jp-mlp-IconButton', props.className]
        .filter(Boolean)
        .join(' ')}
      onClick={props.onClick}
      aria-label={props.label}
      title={props.title}
    >
      <Icon tag="span" elementSize="normal" />
    </button>
  );
}
