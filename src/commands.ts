/** The ids of the commands this extension registers (once each, in `features/`). */
export namespace CommandIDs {
  export const openPanel = 'mlp:open-panel';
  export const submitJob = 'mlp:submit-job';
  export const runAsJob = 'mlp:run-as-job';
  export const cancelJob = 'mlp:cancel-job';
  export const deleteJob = 'mlp:delete-job';
  export const refresh = 'mlp:refresh';
}
