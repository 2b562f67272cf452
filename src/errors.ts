// One error class for the whole project. `code` is a stable POSIX-style name
// (ENOENT, EEXIST, EACCES, EINVAL, EBUSY, ...) that callers and the CLI rely on.

export type ErrorCode =
  | 'ENOENT' | 'EEXIST' | 'EACCES' | 'EPERM' | 'EINVAL' | 'EBUSY' | 'ENOTDIR' | 'EISDIR'
  | 'ENOTEMPTY' | 'EROFS' | 'ENAMETOOLONG' | 'ENOSPC' | 'EIO' | 'ENOTSUP' | 'EXDEV'
  | 'ELOOP' | 'ENODATA' | 'EFBIG' | 'ECONFLICT' | 'EPROTO' | 'ESTALE' | 'ENXIO';

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
    'ENOTEMPTY', 'EROFS', 'ENAMETOOLONG', 'ENOSPC', 'EIO', 'ENOTSUP', 'EXDEV', 'ELOOP', 'ENODATA', 'EFBIG', 'ENXIO'];
  const code = known.includes(err?.code as ErrorCode) ? (err.code as ErrorCode) : 'EIO';
  let detail = err?.message?.replace(/^[A-Z]+: /, '') ?? '';
  // Node ends the message with "<syscall> '<path>'": dropped when `what` names the path already.
  const tail = /^(.*?), \w+ '([^']*)'(?: -> '[^']*')?$/.exec(detail);
  if (tail && what.includes(tail[2]!)) detail = tail[1]!;
  const reason = err?.code ? `${err.code}${detail ? ` (${detail})` : ''}` : String(e);
  return new StrataError(code, `${what}: ${reason}`, { cause: e });
}

/** One line for an error: "permission denied (EACCES)" from a Node error, else the message. */
export function reasonOf(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 3 && cur; i++) {
    const ne = cur as NodeJS.ErrnoException;
    if (ne.syscall && ne.code) {
      const m = /^[A-Z]+: ([^,]+)/.exec(ne.message);
      return `${m ? m[1] : ne.message} (${ne.code})`;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}
