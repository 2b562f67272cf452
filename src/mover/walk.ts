// The walk: both trees in lock step (a merge-join of two sorted listings, as
// rclone's march and JuiceFS sync do), depth first, names in byte order. It
// streams: at any time it holds one listing cursor per open directory level
// (POSIX sorts one directory's names in memory; DFS lists a page at a time),
// never the tree. Copy walks the source alone (dst undefined).
import type { Listed, MStat, Tree } from './tree.js';
import { compareNames, joinRel } from './names.js';

export type WalkEvent =
  /** A source directory, before its content. */
  | { kind: 'enter'; rel: string; src: MStat; dst?: MStat }
  /** The same directory, after its content. */
  | { kind: 'leave'; rel: string; src: MStat; dst?: MStat }
  /** Anything else: a non-directory on the source, or a name only the destination has. */
  | { kind: 'entry'; rel: string; src?: MStat; dst?: MStat }
  /** A directory that could not be listed (its content is skipped). */
  | { kind: 'error'; rel: string; side: 'src' | 'dst'; error: unknown };

class Cursor {
  private it: AsyncGenerator<Listed[]> | undefined;
  private page: Listed[] = [];
  private at = 0;
  head: Listed | undefined;
  error: unknown;
  constructor(tree: Tree | undefined, rel: string, st: MStat | undefined) {
    this.it = tree?.list(rel, st);
  }
  /** Ends a listing left before its end (the walk was stopped): its backend releases what it holds. */
  close(): void {
    const it = this.it;
    this.it = undefined;
    void it?.return(undefined).catch(() => undefined);
  }
  /** The next entry: from the page at hand without waiting (undefined), else a promise for the next page. */
  next(): Promise<void> | undefined {
    if (this.at < this.page.length) { this.head = this.page[this.at++]; return undefined; }
    return this.nextPage();
  }

  private async nextPage(): Promise<void> {
    this.page = [];
    this.at = 0;
    while (this.it) {
      try {
        const r = await this.it.next();
        if (r.done) { this.it = undefined; break; }
        this.page = r.value;
      } catch (e) {
        this.error = e;
        this.it = undefined;
        break;
      }
      if (this.page.length > 0) { this.head = this.page[this.at++]; return; }
    }
    this.head = undefined;
  }
}

/** Waits for the cursors that had to fetch a page (most steps wait for none). */
function both(a: Promise<void> | undefined, b: Promise<void> | undefined): Promise<unknown> | undefined {
  return a && b ? Promise.all([a, b]) : a ?? b;
}

export async function* march(src: Tree, dst: Tree | undefined, rel: string, s: MStat | undefined, d: MStat | undefined): AsyncGenerator<WalkEvent> {
  if (s?.type !== 'dir') {
    yield { kind: 'entry', rel, src: s, dst: d };
    return;
  }
  yield { kind: 'enter', rel, src: s, dst: d };
  const a = new Cursor(src, rel, s);
  const b = new Cursor(d?.type === 'dir' ? dst : undefined, rel, d);
  try {
    await both(a.next(), b.next());
    for (;;) {
      if (a.error !== undefined) { yield { kind: 'error', rel, side: 'src', error: a.error }; break; }
      if (b.error !== undefined) { yield { kind: 'error', rel, side: 'dst', error: b.error }; break; }
      if (!a.head && !b.head) break;
      const c = !a.head ? 1 : !b.head ? -1 : compareNames(a.head.name, b.head.name);
      const name = c <= 0 ? a.head!.name : b.head!.name;
      const sa = c <= 0 ? a.head!.st : undefined;
      const sb = c >= 0 ? b.head!.st : undefined;
      // A non-directory is one event: yielded here, without a walk of its own.
      if (sa?.type === 'dir') yield* march(src, dst, joinRel(rel, name), sa, sb);
      else yield { kind: 'entry', rel: joinRel(rel, name), src: sa, dst: sb };
      const wait = both(c <= 0 ? a.next() : undefined, c >= 0 ? b.next() : undefined);
      if (wait) await wait;
    }
  } finally {
    // A walk stopped early (a full disk, Ctrl-C, the progress count ended) closes its open listings.
    a.close();
    b.close();
  }
  yield { kind: 'leave', rel, src: s, dst: d };
}
