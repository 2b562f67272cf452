// The DFS views of the mount: one per container and epoch (latest, or a
// snapshot's), mounted on first use and shared by every node inside it.
import type { Engine } from '../engine/types.js';
import { Container, type ContainerRecord, type ContPerm } from '../container/container.js';
import { mountDfs } from '../dfs/index.js';
import { Mnt } from './nodes.js';

// Every permission: the ACLs are checked per request, for its caller (access.ts).
const ALL_PERMS: ReadonlySet<ContPerm> = new Set<ContPerm>(['r', 'w', 'd', 't', 'T', 'a', 'A', 'o']);

export class Mounts {
  private mnts = new Map<string, Promise<Mnt>>();
  private mntCount = 0;

  constructor(private readonly engine: Engine) {}

  mntFor(rec: ContainerRecord, epoch: number | undefined): Promise<Mnt> {
    const k = `${rec.uuid}@${epoch ?? 'latest'}`;
    let p = this.mnts.get(k);
    if (!p) {
      p = (async () => {
        const c = new Container(this.engine, rec, ALL_PERMS);
        const dfs = await mountDfs(c, epoch === undefined ? {} : { epoch });
        return new Mnt(++this.mntCount, c, dfs, epoch);
      })();
      p.catch(() => this.mnts.delete(k));
      this.mnts.set(k, p);
    }
    return p;
  }
}
