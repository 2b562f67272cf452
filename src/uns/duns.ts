// The DAOS unified-namespace xattr: user.daos = "DAOS.<TYPE>://<pool-uuid>/<cont-uuid>"
// (DAOS format "DAOS.%s://%36s/%36s"), stored with its trailing NUL, at most
// 170 bytes. TYPE is a DAOS layout name, parsed case-insensitively.
import { StrataError } from '../errors.js';
import type { ContainerType } from '../container/index.js';
import { dunsTypeName, typeFromDunsName } from './layout.js';

export const DUNS_XATTR_NAME = 'user.daos';
export const DUNS_MAX_XATTR_LEN = 170;

export interface DunsAttr {
  type: ContainerType;
  /** Lower-case pool UUID. */
  pool: string;
  /** Lower-case container UUID. */
  cont: string;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const isUuidText = (s: string): boolean => UUID_RE.test(s);

/** The bytes DAOS writes: the formatted string plus one NUL. */
export function encodeDunsAttr(a: DunsAttr): Buffer {
  if (!isUuidText(a.pool) || !isUuidText(a.cont)) throw new StrataError('EINVAL', `bad UUID in UNS value (pool '${a.pool}', container '${a.cont}')`);
  const s = `DAOS.${dunsTypeName(a.type)}://${a.pool.toLowerCase()}/${a.cont.toLowerCase()}`;
  const b = Buffer.alloc(Buffer.byteLength(s, 'latin1') + 1);
  b.write(s, 'latin1');
  if (b.length > DUNS_MAX_XATTR_LEN) throw new StrataError('EINVAL', `UNS value too long (${b.length} bytes)`);
  return b;
}

/**
 * Parses a user.daos value (with or without its trailing NUL). `where` names
 * the path in error messages. EINVAL for anything malformed.
 */
export function decodeDunsAttr(value: Uint8Array, where: string): DunsAttr {
  const bad = (why: string) => new StrataError('EINVAL', `${where}: malformed ${DUNS_XATTR_NAME} value (${why})`);
  if (value.length === 0) throw bad('empty');
  if (value.length > DUNS_MAX_XATTR_LEN) throw bad(`${value.length} bytes, at most ${DUNS_MAX_XATTR_LEN}`);
  let end = value.length;
  if (value[end - 1] === 0) end--;
  const bytes = Buffer.from(value.buffer, value.byteOffset, end);
  if (bytes.includes(0)) throw bad('NUL byte inside the value');
  if (bytes.some((c) => c < 0x20 || c > 0x7e)) throw bad('non-printable bytes');
  const s = bytes.toString('latin1');
  const shown = JSON.stringify(s.length > 80 ? s.slice(0, 80) + '...' : s);
  if (!s.startsWith('DAOS.')) throw bad(`expected DAOS.<TYPE>://<pool-uuid>/<cont-uuid>, got ${shown}`);
  const sep = s.indexOf('://');
  if (sep < 0) throw bad(`no '://' in ${shown}`);
  const typeName = s.slice('DAOS.'.length, sep);
  if (typeName.length === 0) throw bad(`no container type in ${shown}`);
  const rest = s.slice(sep + 3).split('/');
  if (rest.length !== 2) throw bad(`expected <pool-uuid>/<cont-uuid> after '://' in ${shown}`);
  const [pool, cont] = rest as [string, string];
  if (!isUuidText(pool)) throw bad(`pool UUID '${pool}' cannot be parsed`);
  if (!isUuidText(cont)) throw bad(`container UUID '${cont}' cannot be parsed`);
  let type: ContainerType;
  try {
    type = typeFromDunsName(typeName, where);
  } catch {
    throw bad(`unknown container type '${typeName}'`);
  }
  return { type, pool: pool.toLowerCase(), cont: cont.toLowerCase() };
}
