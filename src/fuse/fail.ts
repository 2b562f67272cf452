// Errno answers of the request handlers: `Fail` for an expected errno, and the
// errno to answer for anything a handler throws.
import { StrataError } from '../errors.js';
import { ERRNO } from './proto.js';

/** An errno answer. Not an Error: no stack trace to capture (ENODATA/ENOENT answers are frequent). */
export class Fail {
  constructor(readonly errno: number, readonly message = '') {}
  get stack(): string { return `Fail(${this.errno}): ${this.message}`; }
}

export function errnoOf(e: unknown): number {
  if (e instanceof Fail) return e.errno;
  if (e instanceof StrataError) return ERRNO[e.code] ?? ERRNO['EIO']!;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && ERRNO[code]) return ERRNO[code]!;
  return ERRNO['EIO']!;
}
