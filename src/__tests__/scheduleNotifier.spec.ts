import { Notification } from '@jupyterlab/apputils';
import type { Event } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import type { MLPClient } from '../api';
import { JOB_STATE_SCHEMA, JobsModel } from '../panel/model';
import { JobNotifier } from '../panel/notifier';
import { job } from './fixtures/job';

class FakeStream extends Signal<unknown, Event.Emission> {
  constructor() {
    super({});
  }
}

function failed(jobId: string): Event.Emission {
  return {
    schema_id: JOB_STATE_SCHEMA,
    job_id: jobId,
    name: 'nightly',
    kind: 'train',
    backend: 'local',
    state: 'FAILED',
    previous_state: 'RUNNING'
  };
}

async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

describe('a failed scheduled run', () => {
  it('notifies once, naming its schedule and why it failed', async () => {
    const runs: Record<string, ReturnType<typeof job>> = {
      run1: job({
        id: 'run1',
        name: 'nightly',
        state: 'FAILED',
        state_message: 'exit code 1\nTraceback...',
        schedule_id: 's1'
      }),
      adhoc: job({ id: 'adhoc', state: 'FAILED' })
    };
    const client = {
      listJobs: async () => ({ jobs: [], next: null }),
      getJob: async (id: string) => runs[id],
      getSchedule: async () => ({ id: 's1', name: 'Nightly retrain' })
    } as unknown as MLPClient;
    const stream = new FakeStream();
    const model = new JobsModel({
      client,
      events: stream as unknown as Event.Stream
    });
    const notifier = new JobNotifier(model, () => undefined);
    Notification.dismiss();
    stream.emit(failed('run1'));
    stream.emit(failed('run1'));
    stream.emit(failed('adhoc'));
    await settled();
    const messages = Notification.manager.notifications.map(n => n.message);
    expect(messages).toEqual([
      'Scheduled run of Nightly retrain failed: exit code 1'
    ]);
    notifier.dispose();
    model.dispose();
  });
});
