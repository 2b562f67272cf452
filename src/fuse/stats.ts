// Request statistics (STRATA_FUSE_STATS): requests served per opcode and the
// total time from reading each to answering it, written at unmount (index.ts).
import { OP_NAME } from './proto.js';

export class RequestStats {
  private readonly byOp = new Map<string, { n: number; us: number }>();

  /** One request of opcode `op`, read at hrtime `t0`, answered now. */
  count(op: number, t0: bigint): void {
    const k = OP_NAME[op] ?? String(op);
    const s = this.byOp.get(k) ?? { n: 0, us: 0 };
    s.n++;
    s.us += Number(process.hrtime.bigint() - t0) / 1000;
    this.byOp.set(k, s);
  }

  report(): Record<string, { n: number; us: number }> { return Object.fromEntries(this.byOp); }
}
