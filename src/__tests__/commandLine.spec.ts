import { IJobSubmission, JobKind } from '../api';
import { asCommandLine, asMagic, fallbackText } from '../panel/commandLine';
import { describeSpec } from '../panel/describe';
import {
  CLOUD_BACKENDS,
  KNOWN_BACKENDS,
  SUBMIT_OPTIONS,
  defaultJobName
} from '../vocabulary';
import fixture from './fixtures/commands.json';

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
  requirements: ['pandas', 'torch'],
  args: ['--epochs', '3']
};

describe('a job as a command', () => {
  it('writes the %mlp_train line with every option', () => {
    expect(asMagic(notebookJob)).toBe(
      "%mlp_train nb/train.ipynb --backend vertex --name 'my run' " +
        '--machine-type n1-standard-8 --gpu T4:2 --replicas 3 ' +
        '--region us-central1 --param lr=0.1 ' +
        "--param 'tag=\"3\"' --param 'layers=[64,32]' " +
        "'--args=--epochs 3' --requirements pandas,torch --mode script"
    );
  });

  it('writes the same options after jupyter mlp submit', () => {
    expect(asCommandLine(notebookJob)).toMatch(
      /^jupyter mlp submit nb\/train.ipynb --backend vertex /
    );
  });

  it('keeps the script arguments', () => {
    expect(asCommandLine(notebookJob)).toContain("'--args=--epochs 3'");
  });

  it('writes the most workers of a Dataflow job with the flag that sets them', () => {
    const etl = {
      kind: 'etl' as const,
      backend: 'dataflow',
      source: { path: 'wc.py' },
      resources: { machine_type: 'n1-standard-4', max_workers: 10 }
    };
    expect(asCommandLine(etl)).toBe(
      'jupyter mlp submit wc.py --kind etl --backend dataflow ' +
        '--machine-type n1-standard-4 --max-workers 10'
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

  it('keeps IPython from expanding braces and dollars in a magic line', () => {
    const job = {
      kind: 'train' as const,
      source: { path: 'train.py' },
      parameters: { config: { note: '{x}' } },
      name: 'costs $x'
    };
    expect(asMagic(job)).toBe(
      "%mlp_train train.py --name 'costs $$x' " +
        '--param \'config={{"note":"{{x}}"}}\''
    );
  });
});

describe('launch options as flags', () => {
  it('writes Spot as --strategy spot, not twice', () => {
    const job = {
      kind: 'train' as const,
      source: { path: 'train.py' },
      scheduling: { strategy: 'spot' as const, spot: true, max_preemptions: 3 }
    };
    expect(asCommandLine(job)).toBe(
      'jupyter mlp submit train.py --strategy spot'
    );
  });

  it('writes a fallback that only moves region as the bare region', () => {
    expect(fallbackText({ region: 'europe-west4' })).toBe('europe-west4');
  });

  it('writes what else a fallback changes as KEY=VALUE pairs', () => {
    expect(
      fallbackText({
        region: 'us-east1',
        machine_type: 'a2-highgpu-2g',
        accelerator_type: 'NVIDIA_TESLA_A100',
        accelerator_count: 2,
        strategy: 'flex_start'
      })
    ).toBe(
      'region=us-east1,machine=a2-highgpu-2g,gpu=A100:2,strategy=flex_start'
    );
    expect(fallbackText({ accelerator_count: 4 })).toBe('gpu=any:4');
    expect(fallbackText({ accelerator_type: 'NVIDIA_L4' })).toBe('gpu=L4');
  });
});

describe('the commands the Python side parses back', () => {
  it.each(fixture.commands.map(c => [c.title, c] as const))(
    'writes %s as the fixture says',
    (_, example) => {
      const spec = example.spec as IJobSubmission;
      expect(asMagic(spec)).toBe(example.magic);
      expect(asCommandLine(spec)).toBe(example.command_line);
    }
  );
});

describe('the vocabulary shared with the Python side', () => {
  it.each(fixture.default_names.map(c => [c.path, c] as const))(
    'names a job from %s as the server does',
    (_, example) => {
      expect(defaultJobName(example.kind as JobKind, example.path)).toBe(
        example.name
      );
    }
  );

  it('knows every backend by name, the cloud ones among them', () => {
    expect(KNOWN_BACKENDS).toEqual(['local', 'vertex', 'dataflow']);
    expect(CLOUD_BACKENDS.every(b => KNOWN_BACKENDS.includes(b))).toBe(true);
  });

  it('writes every flag it knows the value of', () => {
    const values = new Set(SUBMIT_OPTIONS.map(option => option.value));
    const known = [
      'text',
      'choice',
      'int',
      'switch',
      'gpu',
      'param',
      'label',
      'args',
      'requirements',
      'repeat',
      'float',
      'fallback'
    ];
    expect([...values].filter(v => !known.includes(v))).toEqual([]);
  });
});

describe('a job in plain words', () => {
  it('says what runs, where and with what', () => {
    expect(describeSpec(notebookJob, 'vertex')).toEqual([
      'Runs the notebook nb/train.ipynb converted to a script (training).',
      'On vertex in us-central1: n1-standard-8 with 2 × T4, 3 replicas.',
      'Installs pandas, torch.',
      'Arguments: --epochs 3.'
    ]);
  });
});
