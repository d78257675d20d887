import { asCommandLine, asMagic } from '../panel/commandLine';
import { describeSpec } from '../panel/describe';

const notebookJob = {
  kind: 'train' as const,
  backend: 'vertex',
  name: 'my run',
  source: { path: 'nb/train.ipynb', code: null, mode: 'script' as const },
  parameters: { lr: 0.1, tag: '3', layers: [64, 32] },
  resources: {
    machine_type: 'n1-standard-8',
    accelerator_type: 'NVIDIA_TESLA_T4',
    accelerator_count: 2,
    replica_count: 3
  },
  region: 'us-central1',
  requirements: ['pandas', 'torch']
};

describe('a job as a command', () => {
  it('writes the %mlp_train line with every option', () => {
    expect(asMagic(notebookJob)).toBe(
      "%mlp_train nb/train.ipynb --backend vertex --name 'my run' " +
        '--machine-type n1-standard-8 --gpu T4:2 --replicas 3 ' +
        '--region us-central1 --mode script --param lr=0.1 ' +
        "--param 'tag=\"3\"' --param 'layers=[64,32]' " +
        '--requirements pandas,torch'
    );
  });

  it('writes the same options after jupyter mlp submit', () => {
    expect(asCommandLine(notebookJob)).toMatch(
      /^jupyter mlp submit nb\/train.ipynb --backend vertex /
    );
  });

  it('writes inline code as a %%mlp_train cell, with no command line', () => {
    const cell = {
      kind: 'train' as const,
      backend: 'local',
      source: { path: null, code: 'print(1)' },
      resources: { accelerator_count: 0, replica_count: 1 }
    };
    expect(asMagic(cell)).toBe('%%mlp_train --backend local\nprint(1)');
    expect(asCommandLine(cell)).toBeNull();
  });

  it('keeps accelerator names whose short form is spelled differently', () => {
    const job = {
      ...notebookJob,
      resources: { accelerator_type: 'NVIDIA_A100_80GB', accelerator_count: 1 }
    };
    expect(asMagic(job)).toContain('--gpu NVIDIA_A100_80GB:1');
  });
});

describe('a job in plain words', () => {
  it('says what runs, where and with what', () => {
    expect(describeSpec(notebookJob, 'vertex')).toEqual([
      'Runs the notebook nb/train.ipynb converted to a script (training).',
      'On vertex in us-central1: n1-standard-8 with 2 × T4, 3 replicas.',
      'Parameters: lr = 0.1, tag = "3", layers = [64,32].',
      'Installs pandas, torch.'
    ]);
  });
});
