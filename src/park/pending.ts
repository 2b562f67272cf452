// Work in progress that a killed process could leave behind, recorded in the
// engine catalog so the next parking command cleans it up:
//   park-pending/<cont-uuid>       a deserialize filling a container that has no catalog record yet
//   park-snap/<cont-uuid>/<epoch>  a snapshot taken for one serialize/check run
// Each entry names its process (host, pid, process start time). An entry whose
// process is gone (same host) or that is older than a day (other hosts) is stale.
import fs from 'node:fs';
import os from 'node:os';
import type { Engine } from '../engine/types.js';
import { catalogKeys } from '../container/index.js';

export interface Owner { host: string; pid: number; start: string; at: string }

function procStart(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export function me(): Owner {
  return { host: os.hostname(), pid: process.pid, start: procStart(process.pid), at: new Date().toISOString() };
}

function alive(o: Owner): boolean {
  if (o.host !== os.hostname()) return Date.now() - Date.parse(o.at) < 24 * 3600 * 1000;
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  return !o.start || procStart(o.pid) === o.start;
}

export const pendingKey = (cont: string) => `park-pending/${cont}`;
export const snapKey = (cont: string, epoch: number) => `park-snap/${cont}/${epoch}`;

/** Removes what dead parking processes left: unregistered half-filled containers and run snapshots. */
export async function cleanupStale(engine: Engine): Promise<{ containers: string[]; snapshots: number }> {
  const containers: string[] = [];
  let snapshots = 0;
  for (const [key, v] of await engine.catList('park-pending/')) {
    const o = v as Owner & { cont: string };
    if (alive(o)) continue;
    const cont = key.slice('park-pending/'.length);
    // Registered meanwhile (the process died after creating the record): keep the container.
    if ((await engine.catGet(catalogKeys.contUuid(cont))) === undefined) {
      await engine.destroyContainer(cont);
      containers.push(cont);
    }
    await engine.commit({ ops: [{ op: 'cat-del', key }] });
  }
  for (const [key, v] of await engine.catList('park-snap/')) {
    if (alive(v as Owner)) continue;
    const [, cont, epoch] = key.split('/');
    if ((await engine.listSnapshots(cont!)).some((s) => s.epoch === Number(epoch))) {
      await engine.destroySnapshot(cont!, Number(epoch));
      snapshots++;
    }
    await engine.commit({ ops: [{ op: 'cat-del', key }] });
  }
  return { containers, snapshots };
}

/** Takes a snapshot for one run, recorded so a killed run's snapshot is removed later. */
export async function runSnapshot(engine: Engine, cont: string): Promise<{ epoch: number; release: () => Promise<void> }> {
  const epoch = await engine.createSnapshot(cont, undefined);
  const key = snapKey(cont, epoch);
  await engine.commit({ ops: [{ op: 'cat-put', key, value: me() }] });
  return {
    epoch,
    release: async () => {
      await engine.destroySnapshot(cont, epoch);
      await engine.commit({ ops: [{ op: 'cat-del', key }] });
    },
  };
}
