// Work in progress that a killed process could leave behind, recorded in the
// engine catalog so the next command that makes or reads containers at the
// object level (deserialize, clone, HDF5 import/export, serialize, check)
// cleans it up:
//   pending/<cont-uuid>            a container being filled that has no catalog record yet
//   run-snap/<cont-uuid>/<epoch>   a snapshot taken for one run
// Each entry names its process (host, pid, process start time). An entry whose
// process is gone (same host) or that is older than a day (other hosts) is stale.
import fs from 'node:fs';
import os from 'node:os';
import type { Engine, Epoch } from '../engine/types.js';
import { keys } from './catalog.js';
import { snapshotEpoch } from './snapshots.js';
import { pidAlive } from '../pid.js';

export interface Owner { host: string; pid: number; start: string; at: string }

function procStart(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** This process, as recorded in pending entries. */
export function me(): Owner {
  return { host: os.hostname(), pid: process.pid, start: procStart(process.pid), at: new Date().toISOString() };
}

function alive(o: Owner): boolean {
  if (o.host !== os.hostname()) return Date.now() - Date.parse(o.at) < 24 * 3600 * 1000;
  if (!pidAlive(o.pid)) return false;
  return !o.start || procStart(o.pid) === o.start;
}

export const PENDING_PREFIX = 'pending/';
export const RUN_SNAP_PREFIX = 'run-snap/';
export const pendingKey = (cont: string): string => `${PENDING_PREFIX}${cont}`;
export const runSnapKey = (cont: string, epoch: Epoch): string => `${RUN_SNAP_PREFIX}${cont}/${epoch}`;

/** Removes what dead processes left: unregistered half-filled containers and run snapshots. */
export async function cleanupStale(engine: Engine): Promise<{ containers: string[]; snapshots: number }> {
  const containers: string[] = [];
  let snapshots = 0;
  for (const [key, v] of await engine.catList(PENDING_PREFIX)) {
    if (alive(v as Owner)) continue;
    const cont = key.slice(PENDING_PREFIX.length);
    // Registered meanwhile (the process died right after creating the record): keep it.
    if ((await engine.catGet(keys.contUuid(cont))) === undefined) {
      await engine.destroyContainer(cont);
      containers.push(cont);
    }
    await engine.commit({ ops: [{ op: 'cat-del', key }] });
  }
  for (const [key, v] of await engine.catList(RUN_SNAP_PREFIX)) {
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

/**
 * The view a run reads: the named snapshot if one is given (kept), else a
 * snapshot taken for this run (released by the caller when done).
 */
export async function snapshotForRun(engine: Engine, cont: { uuid: string; label: string }, snap?: string): Promise<{ epoch: Epoch; release: () => Promise<void> }> {
  if (snap !== undefined) return { epoch: await snapshotEpoch(engine, cont.uuid, { snap }, cont.label), release: async () => undefined };
  return runSnapshot(engine, cont.uuid);
}

/** Takes a snapshot for one run, recorded so a killed run's snapshot is removed later. */
export async function runSnapshot(engine: Engine, cont: string): Promise<{ epoch: Epoch; key: string; release: () => Promise<void> }> {
  // The snapshot and its owner record commit together: a kill at any point
  // leaves either neither or both.
  const epoch = await engine.createSnapshot(cont, undefined, { keyPrefix: `${RUN_SNAP_PREFIX}${cont}/`, value: me() });
  const key = runSnapKey(cont, epoch);
  return {
    epoch,
    key,
    release: async () => {
      await engine.destroySnapshot(cont, epoch);
      await engine.commit({ ops: [{ op: 'cat-del', key }] });
    },
  };
}
