// Park's kind of job in the jobs layer's registry (src/jobs/registry.ts): the
// rank files of a queued serialize/deserialize (queued.ts makes the job), one
// item each, run by a `strata worker` as a task (task.ts). Loading this
// module registers the kind.
import { StrataError } from '../errors.js';
import { registerJobKind, type JobKind } from '../jobs/registry.js';
import { PARK_JOB } from './queued.js';
import { runParkTask, type ParkTask } from './task.js';

export const rankJob: JobKind = {
  name: PARK_JOB,
  // A rank of a serialize/deserialize is a whole process's work: one per lane.
  wholeItems: true,
  async open(_spec, { engine }) {
    return {
      async run(it) {
        if (it.kind !== 'rank') throw new StrataError('EINVAL', `item kind ${it.kind} in a park job`);
        return { result: await runParkTask(await engine(), it.st as unknown as ParkTask, { queued: true }) };
      },
      close: async () => undefined,
    };
  },
};

registerJobKind(rankJob);
