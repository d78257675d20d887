/** The ids of the commands this extension registers (once, in `index.ts`). */
export namespace CommandIDs {
  export const openPanel = 'mlp:open-panel';
  export const cancelJob = 'mlp:cancel-job';
  export const refresh = 'mlp:refresh';
}
