// Container layout types as DAOS names and numbers them (daos_cont_layout_t:
// UNKNOWN 0, POSIX 1, HDF5 2, PYTHON 3, SPARK 4, DATABASE 5, ROOT 6, SEISMIC 7,
// METEO 8). strata's RAW is DAOS's UNKNOWN (0); in a user.daos value it is
// written as `unknown`, the name DAOS itself prints for that layout.
import { StrataError } from '../errors.js';
import type { ContainerType } from '../container/index.js';

interface LayoutInfo { type: ContainerType; number: number; duns: string; aliases: readonly string[] }

const LAYOUTS: readonly LayoutInfo[] = [
  { type: 'RAW', number: 0, duns: 'unknown', aliases: ['UNKNOWN', 'RAW'] },
  { type: 'POSIX', number: 1, duns: 'POSIX', aliases: ['POSIX'] },
  { type: 'HDF5', number: 2, duns: 'HDF5', aliases: ['HDF5'] },
  { type: 'PYTHON', number: 3, duns: 'PYTHON', aliases: ['PYTHON'] },
  { type: 'SPARK', number: 4, duns: 'SPARK', aliases: ['SPARK'] },
  { type: 'DATABASE', number: 5, duns: 'DATABASE', aliases: ['DATABASE', 'DB'] },
  { type: 'ROOT', number: 6, duns: 'ROOT', aliases: ['ROOT', 'RNTUPLE'] },
  { type: 'SEISMIC', number: 7, duns: 'SEISMIC', aliases: ['SEISMIC', 'DSG'] },
  { type: 'METEO', number: 8, duns: 'METEO', aliases: ['METEO', 'FDB'] },
];

/** The name written into a user.daos value for a container type (RAW -> `unknown`). */
export function dunsTypeName(type: ContainerType): string {
  return info(type).duns;
}

/** DAOS layout number (lfm_flags of a Lustre link). */
export function layoutNumber(type: ContainerType): number {
  return info(type).number;
}

/** Container type from a DAOS layout number; EINVAL for numbers DAOS does not define. */
export function typeFromLayoutNumber(n: number, where: string): ContainerType {
  const l = LAYOUTS.find((x) => x.number === n);
  if (!l) throw new StrataError('EINVAL', `${where}: unknown container layout type ${n} (DAOS defines 0..8)`);
  return l.type;
}

/** Container type from a DAOS layout name, case-insensitive (also DB, RNTuple, DSG, FDB as DAOS accepts). */
export function typeFromDunsName(name: string, where: string): ContainerType {
  const up = name.toUpperCase();
  const l = LAYOUTS.find((x) => x.aliases.includes(up));
  if (!l) throw new StrataError('EINVAL', `${where}: unknown container type '${name}'`);
  return l.type;
}

function info(type: ContainerType): LayoutInfo {
  const l = LAYOUTS.find((x) => x.type === type);
  if (!l) throw new StrataError('EINVAL', `unknown container type '${type}'`);
  return l;
}
