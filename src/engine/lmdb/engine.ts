import type { Engine } from '../types.js';
import { StrataError } from '../../errors.js';
// Placeholder while the LMDB engine is written.
export class LmdbEngine {
  static async open(dir: string): Promise<Engine> { throw new StrataError('ENOTSUP', `lmdb engine not ready (${dir})`); }
}
