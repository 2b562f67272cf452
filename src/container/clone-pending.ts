// Work a killed `container clone` could leave behind, recorded in the engine
// catalog so the next clone on that engine cleans it up (the same scheme as
// park's pending markers, kept here because the container layer sits below park):
//   clone-pending/<cont-uuid>       a clone filling a container that has no catalog record yet
//   clone-snap/<cont-uuid>/<epoch>  a snapshot of a source taken for one clone run
// Each entry names its process (host, pid, process start time). An entry whose
// process is gone (same host) or that is older than a day (other hosts) is stale.
import fs from 'node:fs';
import os from 'node:os';
import type { Engine, Epoch } from '../engine/types.js';
import { keys } from './catalog.js';

export interface CloneOwner { host: string; pid: number; start: string; at: string }

function procStart(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export function cloneOwner(): CloneOwner {
  return { host: os.hostname(), pid: process.pid, start: procStart(process.pid), at: new Date().toISOString() };
}

function alive(o: CloneOwner): boolean {
  if (o.host !== os.hostname()) return Date.now() - Date.parse(o.at) < 24 * 3600 * 1000;
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  return !o.start || procStart(o.pid) === o.start;
}

export const clonePendingKey = (cont: string): string => `clone-pending/${cont}`;
export const cloneSnapKey = (cont: string, epoch: Epoch): string => `clone-snap/${cont}/${epoch}`;

/** Removes what dead clone processes left on an engine: unregistered half-filled containers and run snapshots. */
export async function cleanupStaleClones(engine: Engine): Promise<{ containers: string[]; snapshots: number }> {
  const containers: string[] = [];
  let snapshots = 0;
  for (const [key, v] of await engine.catList('clone-pending/')) {
    if (alive(v as CloneOwner)) continue;
    const cont = key.slice('clone-pending/'.length);
    // Registered meanwhile (the process died right after creating the record): keep it.
    if ((await engine.catGet(keys.contUuid(cont))) === undefined) {
      await engine.destroyContainer(cont);
      containers.push(cont);
    }
    await engine.commit({ ops: [{ op: 'cat-del', key }] });
  }
  for (const [key, v] of await engine.catList('clone-snap/')) {
    if (alive(v as CloneOwner)) continue;
    const [, cont, epoch] = key.split('/');
    if ((await engine.listSnapshots(cont!)).some((s) => s.epoch === Number(epoch))) {
      await engine.destroySnapshot(cont!, Number(epoch));
      snapshots++;
    }
    await engine.commit({ ops: [{ op: 'cat-del', key }] });
  }
  return { containers, snapshots };
}

/** Takes a snapshot of a source for one clone run, recorded so a killed run's snapshot is removed later. */
export async function cloneRunSnapshot(engine: Engine, cont: string): Promise<{ epoch: Epoch; release: () => Promise<void> }> {
  const epoch = await engine.createSnapshot(cont, undefined);
  const key = cloneSnapKey(cont, epoch);
  await engine.commit({ ops: [{ op: 'cat-put', key, value: cloneOwner() }] });
  return {
    epoch,
    release: async () => {
      await engine.destroySnapshot(cont, epoch);
      await engine.commit({ ops: [{ op: 'cat-del', key }] });
    },
  };
}
