// Test helpers for DFS: a real engine in a temp dir and a POSIX container
// handle built from a hand-made record (full permissions).
import { randomUUID } from 'node:crypto';
import { tempEngine } from '../helpers.js';
import { Container, type ContainerRecord, type ContPerm } from '../../src/container/container.js';
import type { Engine } from '../../src/engine/types.js';
import { mountDfs, type Dfs, type MountOptions } from '../../src/dfs/index.js';

export const ALL_PERMS: ReadonlySet<ContPerm> = new Set<ContPerm>(['r', 'w', 'd', 't', 'T', 'a', 'A', 'o']);

export function makeContainer(engine: Engine, opts: { type?: ContainerRecord['type']; chunkSize?: number; label?: string; perms?: ReadonlySet<ContPerm> } = {}): Container {
  const label = opts.label ?? 'c' + randomUUID().slice(0, 8);
  const record: ContainerRecord = {
    uuid: randomUUID(), poolUuid: randomUUID(), label, type: opts.type ?? 'POSIX',
    props: { chunk_size: opts.chunkSize ?? 1048576, oclass: 'SX', layout_type: opts.type ?? 'POSIX', label, owner: 'me@', group: 'me@' },
    acl: ['A::OWNER@:rwdtTaAo'], attrs: {}, createdAt: new Date().toISOString(),
  };
  return new Container(engine, record, opts.perms ?? ALL_PERMS);
}

export async function tempDfs(opts: { chunkSize?: number; mount?: MountOptions } = {}): Promise<{ dfs: Dfs; engine: Engine; container: Container }> {
  const { engine } = await tempEngine();
  const container = makeContainer(engine, { chunkSize: opts.chunkSize });
  const dfs = await mountDfs(container, opts.mount);
  return { dfs, engine, container };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const opened: Engine[] = [];
let closing = false;

/** tempDfs whose engine is closed when the test file ends. */
export async function freshDfs(chunkSize?: number): Promise<{ dfs: Dfs; engine: Engine; container: Container }> {
  if (!closing) {
    closing = true;
    const { after } = await import('node:test');
    after(async () => { for (const e of opened) await e.close(); });
  }
  const r = await tempDfs({ chunkSize });
  opened.push(r.engine);
  return r;
}

/** assert.rejects predicate: a StrataError (or system error) with this code. */
export const hasCode = (c: string) => (e: unknown): boolean => (e as { code?: string }).code === c;
