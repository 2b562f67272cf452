// One type for "where": every command that takes a location (a POSIX path, a
// UNS path or a path below one, daos://<pool>/<cont>[/path], or
// /<pool-uuid>/<cont-uuid>[/path]) turns it into a Location here.
import path from 'node:path';
import { parseDaosUri } from '../dfs/uri.js';
import type { ContainerType } from '../container/index.js';
import { findLink } from './resolve.js';
import type { LinkKind } from './link.js';

export type { LinkKind } from './link.js';

export type Location =
  /** A path of an ordinary filesystem, not inside a container. */
  | { kind: 'posix'; path: string }
  /**
   * A path inside a container. pool/cont are labels or UUIDs as given (the
   * container may not exist yet: the mover creates it); path is absolute
   * inside the container. `link` says which UNS link led here, if any (then
   * pool and cont are UUIDs; `type` is the container type the link records,
   * absent for symlink links).
   */
  | { kind: 'container'; pool: string; cont: string; path: string; link?: { path: string; kind: LinkKind; type?: ContainerType } };

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Parses a location without touching any filesystem link (UNS resolution is added by resolveLocation). */
export function parseLocationSyntax(input: string): Location {
  if (input.startsWith('daos://')) return { kind: 'container', ...parseDaosUri(input) };
  const parts = input.split('/');
  if (input.startsWith('/') && parts.length >= 3 && UUID.test(parts[1]!) && UUID.test(parts[2]!)) {
    return { kind: 'container', ...parseDaosUri(input) };
  }
  return { kind: 'posix', path: path.resolve(input) };
}

/**
 * Resolves a location: daos:// and /<uuid>/<uuid> forms directly; a POSIX
 * path at or below a UNS link (xattr, symlink or lustre; also a path below it
 * that does not exist yet) becomes the container location it names. A path
 * under no link stays POSIX. Errors: EINVAL for a malformed link (naming it),
 * ELOOP for symlink loops.
 */
export async function resolveLocation(input: string): Promise<Location> {
  const syn = parseLocationSyntax(input);
  if (syn.kind === 'container') return syn;
  const r = findLink(input);
  if (!r) return syn;
  const link: { path: string; kind: LinkKind; type?: ContainerType } = { path: r.link.path, kind: r.link.kind };
  if (r.link.type) link.type = r.link.type;
  return { kind: 'container', pool: r.link.pool, cont: r.link.cont, path: r.rest, link };
}

export function formatLocation(l: Location): string {
  return l.kind === 'posix' ? l.path : `daos://${l.pool}/${l.cont}${l.path === '/' ? '' : l.path}`;
}
