// One error class for the whole project. `code` is a stable POSIX-style name
// (ENOENT, EEXIST, EACCES, EINVAL, EBUSY, ...) that callers and the CLI rely on.

export type ErrorCode =
  | 'ENOENT' | 'EEXIST' | 'EACCES' | 'EPERM' | 'EINVAL' | 'EBUSY' | 'ENOTDIR' | 'EISDIR'
  | 'ENOTEMPTY' | 'EROFS' | 'ENAMETOOLONG' | 'ENOSPC' | 'EIO' | 'ENOTSUP' | 'EXDEV'
  | 'ELOOP' | 'ENODATA' | 'EFBIG' | 'ECONFLICT' | 'EPROTO';

export class StrataError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'StrataError';
  }
}

export function isStrataError(e: unknown, code?: ErrorCode): e is StrataError {
  return e instanceof StrataError && (code === undefined || e.code === code);
}

/** Maps a Node.js system error (fs, child_process) to a StrataError with the same code when known. */
export function fromSystemError(e: unknown, what: string): StrataError {
  if (e instanceof StrataError) return e;
  const err = e as NodeJS.ErrnoException;
  const known: ErrorCode[] = ['ENOENT', 'EEXIST', 'EACCES', 'EPERM', 'EINVAL', 'EBUSY', 'ENOTDIR', 'EISDIR',
    'ENOTEMPTY', 'EROFS', 'ENAMETOOLONG', 'ENOSPC', 'EIO', 'ENOTSUP', 'EXDEV', 'ELOOP', 'ENODATA', 'EFBIG'];
  const code = known.includes(err?.code as ErrorCode) ? (err.code as ErrorCode) : 'EIO';
  const reason = err?.code ? `${err.code}${err.message ? ` (${err.message.replace(/^[A-Z]+: /, '')})` : ''}` : String(e);
  return new StrataError(code, `${what}: ${reason}`, { cause: e });
}
