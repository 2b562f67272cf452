// Snapshots: engine snapshots of a container, optionally named (names unique
// per container). create-snap returns the epoch; a name or an epoch resolves to
// the epoch every read can be made at.
import type { Engine, Epoch, SnapshotInfo } from '../engine/types.js';
import { StrataError, isStrataError } from '../errors.js';
import type { Container } from './container.js';
import { keys } from './catalog.js';
import { openContainer } from './manage.js';
import type { CallOpts } from './pool.js';

/** A snapshot is named by exactly one of these. */
export interface SnapSpec {
  snap?: string;
  epc?: number | string;
}

/** How long an unconfirmed name reservation is honoured (a crashed creator leaves one behind). */
const RESERVATION_TTL_MS = 5 * 60 * 1000;

export function checkSnapName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 127 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new StrataError('EINVAL', `bad snapshot name '${name}': 1-127 characters, no control characters`);
  }
  return name;
}

export function parseEpoch(text: number | string): Epoch {
  const s = String(text).trim();
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) <= 0) {
    throw new StrataError('EINVAL', `bad epoch '${text}': expected a positive integer`);
  }
  return Number(s);
}

/** Parses an epoch range "A-B" (inclusive). */
export function parseEpochRange(text: string): [Epoch, Epoch] {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  if (!m) throw new StrataError('EINVAL', `bad epoch range '${text}': expected A-B`);
  const a = parseEpoch(m[1]!);
  const b = parseEpoch(m[2]!);
  if (a > b) throw new StrataError('EINVAL', `bad epoch range '${text}': ${a} is after ${b}`);
  return [a, b];
}

interface Reservation { reservedAt: string; epoch?: Epoch }

/** Takes a snapshot (needs 'w'); returns its epoch. Names are unique per container. */
export async function createSnap(engine: Engine, pool: string, cont: string, opts: CallOpts & { name?: string } = {}): Promise<SnapshotInfo> {
  const c = await openContainer(engine, pool, cont, opts);
  c.require('w', 'create snapshot');
  const name = opts.name === undefined ? undefined : checkSnapName(opts.name);
  if (name === undefined) {
    const epoch = await engine.createSnapshot(c.uuid, undefined);
    return (await engine.listSnapshots(c.uuid)).find((s) => s.epoch === epoch) ?? { epoch, createdAt: new Date().toISOString() };
  }
  const key = keys.snapName(c.uuid, name);
  const taken = () => new StrataError('EEXIST', `container ${c.label} already has a snapshot named '${name}'`);
  const reserve: Reservation = { reservedAt: new Date().toISOString() };
  try {
    await engine.commit({ ops: [{ op: 'cat-put', key, value: reserve }], conditions: [{ kind: 'cat-absent', key }] });
  } catch (e) {
    if (!isStrataError(e, 'ECONFLICT')) throw e;
    // Taken, unless it is a stale reservation (no such snapshot, creator gone).
    const old = (await engine.catGet(key)) as Reservation | undefined;
    const exists = (await engine.listSnapshots(c.uuid)).some((s) => s.name === name);
    if (exists || !old || (old.epoch === undefined && Date.now() - Date.parse(old.reservedAt) < RESERVATION_TTL_MS)) throw taken();
    await engine.commit({ ops: [{ op: 'cat-put', key, value: reserve }], conditions: [{ kind: 'cat-present', key }] });
  }
  let epoch: Epoch;
  try {
    epoch = await engine.createSnapshot(c.uuid, name);
  } catch (e) {
    await engine.commit({ ops: [{ op: 'cat-del', key }] }).catch(() => undefined);
    throw e;
  }
  await engine.commit({ ops: [{ op: 'cat-put', key, value: { ...reserve, epoch } }] });
  return (await engine.listSnapshots(c.uuid)).find((s) => s.epoch === epoch) ?? { epoch, name, createdAt: reserve.reservedAt };
}

/** Snapshots of a container in epoch order (needs 'r'). */
export async function listSnaps(engine: Engine, pool: string, cont: string, opts: CallOpts = {}): Promise<SnapshotInfo[]> {
  const c = await openContainer(engine, pool, cont, opts);
  return (await engine.listSnapshots(c.uuid)).sort((a, b) => a.epoch - b.epoch);
}

/** The epoch of a snapshot named by name or epoch; ENOENT if there is none. Works on a container id. */
export async function snapshotEpoch(engine: Engine, contUuid: string, spec: SnapSpec, label = contUuid): Promise<Epoch> {
  if ((spec.snap === undefined) === (spec.epc === undefined)) {
    throw new StrataError('EINVAL', 'name the snapshot either by name (--snap) or by epoch (--epc)');
  }
  const snaps = await engine.listSnapshots(contUuid);
  if (spec.snap !== undefined) {
    const s = snaps.find((x) => x.name === spec.snap);
    if (!s) throw new StrataError('ENOENT', `container ${label} has no snapshot named '${spec.snap}'`);
    return s.epoch;
  }
  const e = parseEpoch(spec.epc!);
  if (!snaps.some((x) => x.epoch === e)) throw new StrataError('ENOENT', `container ${label} has no snapshot at epoch ${e}`);
  return e;
}

/** Resolves `--snap NAME` / `--epc N` for an open container to the snapshot's epoch. */
export function resolveSnapshot(c: Container, spec: SnapSpec): Promise<Epoch> {
  return snapshotEpoch(c.engine, c.uuid, spec, c.label);
}

/**
 * Destroys snapshots (needs 'w'), named by name, by epoch, or every snapshot in
 * an inclusive epoch range "A-B". Returns the epochs destroyed.
 */
export async function destroySnap(engine: Engine, pool: string, cont: string, spec: SnapSpec & { epcrange?: string }, opts: CallOpts = {}): Promise<Epoch[]> {
  const given = [spec.snap, spec.epc, spec.epcrange].filter((x) => x !== undefined).length;
  if (given !== 1) throw new StrataError('EINVAL', 'name the snapshot(s) with exactly one of --snap NAME, --epc N, --epcrange A-B');
  const c = await openContainer(engine, pool, cont, opts);
  c.require('w', 'destroy snapshot');
  const snaps = await engine.listSnapshots(c.uuid);
  let victims: SnapshotInfo[];
  if (spec.epcrange !== undefined) {
    const [a, b] = parseEpochRange(spec.epcrange);
    victims = snaps.filter((s) => s.epoch >= a && s.epoch <= b);
    if (victims.length === 0) throw new StrataError('ENOENT', `container ${c.label} has no snapshot in epochs ${a}-${b}`);
  } else {
    const e = await snapshotEpoch(engine, c.uuid, spec, c.label);
    victims = snaps.filter((s) => s.epoch === e);
  }
  for (const s of victims.sort((x, y) => x.epoch - y.epoch)) {
    await engine.destroySnapshot(c.uuid, s.epoch);
    if (s.name !== undefined) {
      const key = keys.snapName(c.uuid, s.name);
      const r = (await engine.catGet(key)) as Reservation | undefined;
      if (r && (r.epoch === undefined || r.epoch === s.epoch)) await engine.commit({ ops: [{ op: 'cat-del', key }] });
    }
  }
  return victims.map((s) => s.epoch);
}
