// The mover's payloads in the work queue of distributed jobs (src/jobs/):
// a planner (`strata fs copy --queue`) walks the source and enqueues items;
// `strata worker` processes claim and execute them (copy-job.ts). Order
// rules, as in the serial copy: the planner creates directories before it
// enqueues their content; a directory's metadata item becomes ready when every
// item below it is finished; a later name of a hard-linked file becomes ready
// when its first name is finished (`after`). This file turns the mover's items
// (stat records) into the queue's JSON payloads and back.
import type { ClaimedQueueItem, QueueOp } from '../jobs/queue.js';
import type { MStat } from './tree.js';

/** The kind of the mover's jobs in the queue (copies and syncs). */
export const COPY_JOB = 'copy';

export type ItemKind = 'entry' | 'link' | 'dir';

export interface JobSpec {
  /** Source location (formatted), its snapshot epoch (container sources). */
  src: string;
  srcEpoch?: number;
  /** Destination as given and the resolved destination root. */
  dst: string;
  dstRoot: { kind: 'posix'; path: string } | { kind: 'container'; pool: string; cont: string; path: string };
  /** The destination's identity (ends.ts destinationKey): one live planner per destination, however spelled. */
  dstKey?: string;
  xattrs: string;
  verify: boolean;
  /** A sync (fs sync --queue, or a resumed copy); absent: a copy. */
  mode?: 'sync';
  /** Made by fs copy --queue (with or without --resume): a later --resume continues it. */
  resumable?: boolean;
  /** host:pid of the planner (set by createJob). */
  planner?: string;
  [k: string]: unknown;
}

export interface NewItem {
  seq: number;
  kind: ItemKind;
  rel: string;
  st: MStat;
  parent?: number;
  /** link items: seq and rel of the first name. */
  after?: number;
  linkTo?: string;
}

export interface ClaimedItem {
  job: number;
  seq: number;
  kind: ItemKind;
  rel: string;
  st: MStat;
  attempts: number;
  after?: number;
  linkTo?: string;
}

export type PlanOp = { op: 'item'; item: NewItem } | { op: 'seal'; seq: number; children: number };

export function stToJson(st: MStat): string {
  return JSON.stringify({ ...st, atimeNs: st.atimeNs.toString(), mtimeNs: st.mtimeNs.toString(), ...(st.rdev !== undefined ? { rdev: st.rdev.toString() } : {}) });
}

export function stFromJson(o: Record<string, unknown>): MStat {
  return {
    ...(o as unknown as MStat), atimeNs: BigInt(o['atimeNs'] as string), mtimeNs: BigInt(o['mtimeNs'] as string),
    ...(o['rdev'] !== undefined ? { rdev: BigInt(o['rdev'] as string) } : {}),
  };
}

/** The planner's operations as the queue stores them: payloads in JSON, a file's size counted. */
export function toQueueOps(ops: PlanOp[]): QueueOp[] {
  return ops.map((op) => (op.op === 'seal' ? op : {
    op: 'item',
    item: {
      seq: op.item.seq, kind: op.item.kind, rel: op.item.rel, st: stToJson(op.item.st),
      ...(op.item.parent !== undefined ? { parent: op.item.parent } : {}), ...(op.item.after !== undefined ? { after: op.item.after } : {}),
      ...(op.item.linkTo !== undefined ? { linkTo: op.item.linkTo } : {}),
      size: op.item.kind === 'entry' && op.item.st.type === 'file' ? op.item.st.size : 0,
    },
  }));
}

/** A claimed item with its stat record. */
export function fromClaimed(x: ClaimedQueueItem): ClaimedItem {
  return {
    job: x.job, seq: x.seq, kind: x.kind as ItemKind, rel: x.rel, attempts: x.attempts, st: stFromJson(x.st),
    ...(x.after !== undefined ? { after: x.after } : {}), ...(x.linkTo !== undefined ? { linkTo: x.linkTo } : {}),
  };
}
