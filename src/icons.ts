import { LabIcon } from '@jupyterlab/ui-components';

/** A stack of jobs with a rising line: the jupyter-mlp sidebar icon. */
const jobsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 4h18v3H3zM3 10.5h11v3H3zM3 17h7v3H3z"/>
    <path d="M13.2 20.6l-1.4-1.4 4.2-4.2 2 2 2.6-2.6 1.4 1.4-4 4-2-2z"/>
  </g>
</svg>`;

export const mlpIcon = new LabIcon({
  name: 'jupyter-mlp:jobs',
  svgstr: jobsSvg
});
