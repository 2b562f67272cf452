// The parked-link guard: a path at or below the link of a parked container
// names data that is not in the tier any more. Commands that would resolve it
// get "<path> is parked in <COLD_DIR>; run strata tier unpark <link>" instead
// of a "container does not exist" error. The CLI runs this over the arguments
// of every command (src/cli/tier.ts); uns itself does not know about parking
// (see docs/tier.md, "What other layers should offer").
import { StrataError } from '../errors.js';
import { findLink } from '../uns/resolve.js'; // not uns/index.js: this runs before every command with a path
import type { LinkInfo } from '../uns/index.js';
import { openEngine } from '../engine/open.js';
import { getParked, parkedMessage, readParkedMark } from './records.js';

function linkOf(arg: string): LinkInfo | undefined {
  if (!arg || arg.startsWith('-') || arg.startsWith('daos://') || arg.includes('\0')) return undefined;
  try {
    return findLink(arg)?.link;
  } catch {
    return undefined;
  }
}

/** Throws the parked error for the first argument under a parked link. Cheap when no argument is under a link. */
export async function parkedGuard(args: readonly string[], engineUrl?: string): Promise<void> {
  const links: Array<{ arg: string; link: LinkInfo }> = [];
  for (const a of args) {
    const l = linkOf(a);
    if (!l) continue;
    const mark = l.kind === 'xattr' ? readParkedMark(l.path) : undefined;
    if (mark && mark.contUuid === l.cont) throw new StrataError('ENOENT', parkedMessage(a, mark.coldDir, l.path));
    if (l.kind !== 'xattr') links.push({ arg: a, link: l });
  }
  if (links.length === 0) return;
  let engine;
  try {
    engine = await openEngine(engineUrl);
  } catch {
    return; // the command itself will report the engine problem
  }
  try {
    for (const { arg, link } of links) {
      const rec = await getParked(engine, link.cont);
      if (rec) throw new StrataError('ENOENT', parkedMessage(arg, rec.coldDir, link.path));
    }
  } finally {
    await engine.close();
  }
}
