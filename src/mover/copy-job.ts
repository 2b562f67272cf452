// The mover's kind of job in the jobs layer's registry (src/jobs/registry.ts):
// the items of a queued copy or sync (distributed.ts plans them), each run by
// a `strata worker` with the serial copy's code (Transfer.copyEntry /
// copyLinkName / finishDirectory). Loading this module registers the kind.
import { StrataError } from '../errors.js';
import { registerJobKind, type JobKind } from '../jobs/registry.js';
import { openDest, openSource } from './ends.js';
import { COPY_JOB, fromClaimed, type ItemKind, type JobSpec } from './queue.js';
import { Transfer } from './transfer.js';
import { parseXattrMode } from './xattrs.js';

const ITEM_KINDS: ReadonlySet<string> = new Set<ItemKind>(['entry', 'link', 'dir']);

export const copyJob: JobKind = {
  name: COPY_JOB,
  async open(given, { queue, engine }) {
    const spec = given as JobSpec;
    const src = await queue.retrying(() => openSource(engine, spec.src, { ...(spec.srcEpoch !== undefined ? { epoch: spec.srcEpoch } : {}), live: true }));
    const dst = await queue.retrying(() => openDest(engine, spec.dst, src, { into: true, resumeRoot: spec.dstRoot }));
    const t = new Transfer(src.tree, dst.tree, 'copy', { xattrs: parseXattrMode(spec.xattrs), verify: spec.verify });
    return {
      async run(claimed) {
        // An item of another kind (a newer planner's, say) is never taken for one of these.
        if (!ITEM_KINDS.has(claimed.kind)) throw new StrataError('EINVAL', `item kind ${claimed.kind} in a copy job`);
        const it = fromClaimed(claimed);
        if (it.kind === 'entry') return t.copyEntry(it.rel, it.st);
        if (it.kind === 'link') {
          const firstOk = it.after === undefined ? true : await queue.firstDone(it.job, it.after);
          return t.copyLinkName(it.linkTo!, firstOk, it.rel, it.st);
        }
        await t.finishDirectory(it.rel, it.st);
        return { made: 'dir' };
      },
      describe: (it, e) => t.describe(it.rel, e),
      close: async () => { await Promise.all([src.tree.close(), dst.tree.close()]); },
    };
  },
};

registerJobKind(copyJob);
