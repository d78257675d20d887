import type { IJob } from '../api';
import {
  backendIdLabel,
  backendStateNote,
  failedCell,
  transitionNote
} from '../panel/describe';
import { capabilities } from './fixtures/capabilities';

function failed(path: string | null, message: string | null) {
  return {
    spec: { kind: 'train', source: { path } },
    state_message: message
  } as Pick<IJob, 'spec' | 'state_message'>;
}

describe('the notebook cell a failed job names', () => {
  it("is the message's cell, counted from 1, with the notebook", () => {
    expect(
      failedCell(failed('nb/train.ipynb', "cell 3 raised KeyError: 'x'\n..."))
    ).toEqual({ path: 'nb/train.ipynb', cell: 3 });
  });

  it('is none for a script', () => {
    expect(failedCell(failed('train.py', 'cell 3 raised KeyError'))).toBeNull();
  });

  it('is none when the injected parameters failed', () => {
    expect(
      failedCell(
        failed('train.ipynb', 'the injected parameters raised NameError')
      )
    ).toBeNull();
  });

  it('is none for inline code', () => {
    expect(failedCell(failed(null, 'cell 1 raised ValueError'))).toBeNull();
  });
});

describe("what the backend's state word adds", () => {
  it('is nothing when it is the same word in any case', () => {
    expect(
      backendStateNote({ state: 'RUNNING', backend_state: 'running' })
    ).toBeNull();
    expect(
      backendStateNote({ state: 'RUNNING', backend_state: 'JOB_STATE_RUNNING' })
    ).toBeNull();
  });

  it("is nothing for a cancelled job's exit status", () => {
    expect(
      backendStateNote({ state: 'CANCELLED', backend_state: 'exit 1' })
    ).toBeNull();
  });

  it('reads as an exit code for a failed job', () => {
    expect(backendStateNote({ state: 'FAILED', backend_state: 'exit 2' })).toBe(
      'exit code 2'
    );
  });

  it('is the word when it says more than the state', () => {
    expect(
      backendStateNote({ state: 'QUEUED', backend_state: 'JOB_STATE_PENDING' })
    ).toBe('JOB_STATE_PENDING');
  });
});

describe('a timeline entry', () => {
  it('shows no message that only repeats its state', () => {
    expect(transitionNote({ state: 'RUNNING', message: 'running' })).toBeNull();
    expect(
      transitionNote({ state: 'CANCELLED', message: 'Cancelled.' })
    ).toBeNull();
  });

  it('shows a message that says more', () => {
    expect(transitionNote({ state: 'QUEUED', message: 'submitted' })).toBe(
      'submitted'
    );
  });
});

describe("the label of a backend's job id", () => {
  it("is the backend's own word for it (a local job's is its process id)", () => {
    expect(backendIdLabel(capabilities({ job_id_label: 'Process id' }))).toBe(
      'Process id'
    );
    expect(backendIdLabel(capabilities({ job_id_label: 'Backend id' }))).toBe(
      'Backend id'
    );
  });

  it("is a plain word while the backend's capabilities are not known", () => {
    expect(backendIdLabel(null)).toBe('Backend id');
  });
});
