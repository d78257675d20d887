import type { IJob } from '../api';
import { failedCell } from '../panel/describe';

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
