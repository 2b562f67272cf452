#!/usr/bin/python3
# The POSIX conformance driver of test/posix/differential.test.ts: the same
# table of calls, run once in a local directory and once through a strata
# mount, as root and as unprivileged users; the test compares what it prints.
#
#   driver.py prep BASE RUNNER_UID RUNNER_GID OTHER_UID OTHER_GID   (as root)
#   driver.py run  BASE OTHER_UID OTHER_GID                          (as the runner)
#
# prep makes BASE/<case>/ (owned by the runner) and the fixtures a case needs
# that belong to another user ("other"); run performs each case's calls and
# prints one JSON object per case: the result of every call (a value or an
# errno name), the lstat of the paths it watches (type, mode, owner, nlink
# and size of non-directories; explicit times where a case sets them),
# which of their mtime/ctime the case's calls changed, and the directory's
# names. Inode numbers and exact times are never printed.
import ctypes
import ctypes.util
import errno
import json
import os
import stat
import sys
import time

libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100


class Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


def utimensat(path, atime, mtime, flags=0):
    """utimensat(2) with UTIME_NOW / UTIME_OMIT (os.utime has neither)."""
    def ts(t):
        if t in (UTIME_NOW, UTIME_OMIT):
            return Timespec(0, t)
        return Timespec(t // 1_000_000_000, t % 1_000_000_000)
    times = (Timespec * 2)(ts(atime), ts(mtime))
    if libc.utimensat(AT_FDCWD, path.encode(), times, flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2


def renameat2(src, dst, flags):
    """renameat2(2) (os.rename has no flags)."""
    if libc.renameat2(AT_FDCWD, src.encode(), AT_FDCWD, dst.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def call(fn, *args, **kw):
    """The result of one call: 'ok', 'ok:<value>' or the errno's name."""
    try:
        v = fn(*args, **kw)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    if v is None:
        return 'ok'
    return 'ok:%s' % (v,)


def opened(path, flags, mode=0o666):
    """open(2) then close: 'ok' or the errno."""
    fd = os.open(path, flags, mode)
    os.close(fd)


def creat(path, mode=0o666):
    opened(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)


def write_file(path, data, flags=os.O_WRONLY | os.O_APPEND):
    fd = os.open(path, flags)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def ftruncate(path, length, flags=os.O_WRONLY):
    fd = os.open(path, flags)
    try:
        os.ftruncate(fd, length)
    finally:
        os.close(fd)


def read_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return len(os.read(fd, 1 << 20))
    finally:
        os.close(fd)


def put(path, data=b'', mode=0o644, uid=None, gid=None):
    """A file with its content and mode (prep: owned by uid:gid)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
    os.write(fd, data)
    os.close(fd)
    os.chmod(path, mode)
    if uid is not None:
        os.chown(path, uid, gid)


def mkdir_as(path, mode, uid, gid):
    os.mkdir(path)
    os.chmod(path, mode)
    os.chown(path, uid, gid)


def describe(path, times=False):
    try:
        st = os.lstat(path)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    t = stat.S_IFMT(st.st_mode)
    kind = {stat.S_IFREG: 'f', stat.S_IFDIR: 'd', stat.S_IFLNK: 'l', stat.S_IFIFO: 'p',
            stat.S_IFCHR: 'c', stat.S_IFBLK: 'b', stat.S_IFSOCK: 's'}.get(t, '?')
    out = {'type': kind, 'mode': oct(stat.S_IMODE(st.st_mode)), 'uid': st.st_uid, 'gid': st.st_gid}
    if kind != 'd':
        out['nlink'] = st.st_nlink
        out['size'] = st.st_size
    if kind in 'cb':
        out['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    if times:
        out['atime_ns'] = st.st_atime_ns
        out['mtime_ns'] = st.st_mtime_ns
    return out


def times_of(path):
    try:
        st = os.lstat(path)
        return (st.st_mtime_ns, st.st_ctime_ns)
    except OSError:
        return None


# ---- the cases: name -> (prep(d, ctx) as root or None, run(d, ctx) -> [results], watched paths, exact times?) ----
CASES = []


def case(name, watch=(), prep=None, times=False):
    def reg(run):
        CASES.append((name, prep, run, list(watch), times))
        return run
    return reg


E = os.path.join


@case('open O_CREAT|O_EXCL', watch=['.', 'f'])
def _(d, c):
    return [call(opened, E(d, 'f'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640),
            call(opened, E(d, 'f'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600),
            call(opened, E(d, 'f'), os.O_CREAT | os.O_WRONLY, 0o600)]


@case('open O_CREAT|O_EXCL on a dangling symlink', watch=['l', 'target'],
      prep=lambda d, c: os.symlink('target', E(d, 'l')) or os.lchown(E(d, 'l'), c['ruid'], c['rgid']))
def _(d, c):
    return [call(opened, E(d, 'l'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)]


@case('open O_CREAT through a dangling symlink creates its target', watch=['l', 'target'],
      prep=lambda d, c: os.symlink('target', E(d, 'l')) or os.lchown(E(d, 'l'), c['ruid'], c['rgid']))
def _(d, c):
    return [call(opened, E(d, 'l'), os.O_CREAT | os.O_WRONLY, 0o644)]


@case('open O_NOFOLLOW and O_DIRECTORY', watch=['f', 'l', 'sub'])
def _(d, c):
    creat(E(d, 'f'))
    os.symlink('f', E(d, 'l'))
    os.mkdir(E(d, 'sub'))
    os.symlink('sub', E(d, 'ls'))
    return [call(opened, E(d, 'l'), os.O_RDONLY | os.O_NOFOLLOW),
            call(opened, E(d, 'l'), os.O_RDONLY | os.O_NOFOLLOW | os.O_PATH),
            call(opened, E(d, 'f'), os.O_RDONLY | os.O_DIRECTORY),
            call(opened, E(d, 'sub'), os.O_RDONLY | os.O_DIRECTORY),
            call(opened, E(d, 'ls'), os.O_RDONLY | os.O_DIRECTORY),
            call(opened, E(d, 'ls'), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW),
            call(opened, E(d, 'sub'), os.O_WRONLY),
            call(opened, E(d, 'sub'), os.O_RDONLY | os.O_CREAT, 0o644),
            call(opened, E(d, 'f', 'x'), os.O_RDONLY)]


@case('open with the umask and O_CREAT mode', watch=['a', 'b', 'c'])
def _(d, c):
    return [call(opened, E(d, 'a'), os.O_CREAT | os.O_WRONLY, 0o777),
            call(opened, E(d, 'b'), os.O_CREAT | os.O_WRONLY, 0o400),
            call(opened, E(d, 'b'), os.O_WRONLY),
            call(os.mkdir, E(d, 'c'), 0o777)]


def prep_others(d, c):
    put(E(d, 'ro'), b'data', 0o644, c['ouid'], c['ogid'])
    put(E(d, 'rw'), b'data', 0o666, c['ouid'], c['ogid'])
    put(E(d, 'secret'), b'data', 0o600, c['ouid'], c['ogid'])
    mkdir_as(E(d, 'closed'), 0o755, c['ouid'], c['ogid'])
    mkdir_as(E(d, 'open'), 0o777, c['ouid'], c['ogid'])


@case('open O_TRUNC needs write permission', watch=['ro', 'rw'], prep=prep_others)
def _(d, c):
    return [call(opened, E(d, 'ro'), os.O_WRONLY | os.O_TRUNC),
            call(opened, E(d, 'ro'), os.O_RDONLY | os.O_TRUNC),
            call(opened, E(d, 'rw'), os.O_WRONLY | os.O_TRUNC)]


@case('another user\'s files and directories by their mode bits', watch=['open', 'open/mine', 'closed', 'rw'], prep=prep_others)
def _(d, c):
    return [call(read_file, E(d, 'rw')),
            call(read_file, E(d, 'secret')),
            call(write_file, E(d, 'rw'), b'more'),
            call(write_file, E(d, 'ro'), b'more'),
            call(opened, E(d, 'open', 'mine'), os.O_CREAT | os.O_WRONLY, 0o644),
            call(opened, E(d, 'closed', 'mine'), os.O_CREAT | os.O_WRONLY, 0o644),
            call(os.mkdir, E(d, 'closed', 'sub')),
            call(os.listdir, E(d, 'open')),
            call(os.access, E(d, 'rw'), os.W_OK),
            call(os.access, E(d, 'ro'), os.W_OK),
            call(os.access, E(d, 'secret'), os.R_OK)]


@case('O_CREAT of an existing name in a directory the caller cannot write', watch=['closed', 'closed/x'], prep=lambda d, c: (
    prep_others(d, c), put(E(d, 'closed', 'x'), b'data', 0o666, c['ouid'], c['ogid'])))
def _(d, c):
    return [call(opened, E(d, 'closed', 'x'), os.O_CREAT | os.O_WRONLY, 0o644),
            call(opened, E(d, 'closed', 'x'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644),
            call(ftruncate, E(d, 'closed', 'x'), 2, os.O_RDWR),
            call(utimensat, E(d, 'closed'), UTIME_NOW, UTIME_NOW)]


@case('creat truncates and keeps the mode', watch=['f'])
def _(d, c):
    put(E(d, 'f'), b'hello', 0o640)
    return [call(creat, E(d, 'f'), 0o777)]


@case('link: one inode, two names', watch=['.', 'f', 'h'])
def _(d, c):
    put(E(d, 'f'), b'one\n', 0o644)
    os.stat(E(d, 'f'))
    return [call(os.link, E(d, 'f'), E(d, 'h')),
            call(lambda: os.stat(E(d, 'h')).st_nlink),
            call(os.chmod, E(d, 'f'), 0o640),
            call(write_file, E(d, 'f'), b'two\n'),
            call(lambda: oct(stat.S_IMODE(os.stat(E(d, 'h')).st_mode))),
            call(lambda: os.stat(E(d, 'h')).st_size),
            call(lambda: os.stat(E(d, 'f')).st_ino == os.stat(E(d, 'h')).st_ino)]


@case('link errors', watch=['f', 'sub'])
def _(d, c):
    put(E(d, 'f'), b'x')
    put(E(d, 'g'), b'y')
    os.mkdir(E(d, 'sub'))
    return [call(os.link, E(d, 'f'), E(d, 'g')),
            call(os.link, E(d, 'sub'), E(d, 'sub2')),
            call(os.link, E(d, 'missing'), E(d, 'm')),
            call(os.link, E(d, 'f'), E(d, 'nodir', 'm')),
            call(os.link, E(d, 'f'), E(d, 'f'))]


@case('link of another user\'s file (protected_hardlinks)', watch=['secret', 'rw'], prep=prep_others)
def _(d, c):
    return [call(os.link, E(d, 'secret'), E(d, 's2')), call(os.link, E(d, 'rw'), E(d, 'rw2'))]


@case('unlink', watch=['.', 'h'])
def _(d, c):
    put(E(d, 'f'), b'x')
    os.link(E(d, 'f'), E(d, 'h'))
    os.mkdir(E(d, 'sub'))
    return [call(os.unlink, E(d, 'f')), call(os.unlink, E(d, 'f')), call(os.unlink, E(d, 'sub')),
            call(os.unlink, E(d, 'f', 'x'))]


@case('unlink in another user\'s directory', watch=['closed', 'open'], prep=lambda d, c: (
    prep_others(d, c), put(E(d, 'closed', 'x'), b'', 0o666, c['ouid'], c['ogid']), put(E(d, 'open', 'x'), b'', 0o644, c['ouid'], c['ogid'])))
def _(d, c):
    return [call(os.unlink, E(d, 'closed', 'x')), call(os.unlink, E(d, 'open', 'x'))]


def prep_sticky(d, c):
    mkdir_as(E(d, 't'), 0o1777, c['ouid'], c['ogid'])
    put(E(d, 't', 'theirs'), b'x', 0o666, c['ouid'], c['ogid'])
    put(E(d, 't', 'mine'), b'x', 0o644, c['ruid'], c['rgid'])
    put(E(d, 't', 'mine2'), b'x', 0o644, c['ruid'], c['rgid'])
    mkdir_as(E(d, 't', 'theirdir'), 0o777, c['ouid'], c['ogid'])


@case('sticky directory', watch=['t', 't/theirs', 't/mine', 't/mine2'], prep=prep_sticky)
def _(d, c):
    return [call(os.unlink, E(d, 't', 'theirs')),
            call(os.rename, E(d, 't', 'mine'), E(d, 't', 'theirs')),
            call(os.rename, E(d, 't', 'theirs'), E(d, 't', 'x')),
            call(os.rmdir, E(d, 't', 'theirdir')),
            call(os.rename, E(d, 't', 'mine2'), E(d, 't', 'moved')),
            call(os.unlink, E(d, 't', 'moved'))]


@case('rename of files', watch=['.', 'a', 'b', 'c'])
def _(d, c):
    put(E(d, 'a'), b'aaa')
    put(E(d, 'b'), b'b', 0o600)
    put(E(d, 'c'), b'c')
    return [call(os.rename, E(d, 'a'), E(d, 'b')),
            call(os.rename, E(d, 'c'), E(d, 'c')),
            call(os.rename, E(d, 'missing'), E(d, 'z')),
            call(os.rename, E(d, 'c'), E(d, 'nodir', 'z'))]


@case('rename of directories', watch=['.', 'd1', 'e', 'full', 'f'])
def _(d, c):
    for n in ('d1', 'd2', 'e', 'full', 'full/x', 'd3'):
        os.mkdir(E(d, n))
    put(E(d, 'f'), b'f')
    return [call(os.rename, E(d, 'd1'), E(d, 'e')),
            call(os.rename, E(d, 'd2'), E(d, 'full')),
            call(os.rename, E(d, 'f'), E(d, 'full')),
            call(os.rename, E(d, 'full'), E(d, 'f')),
            call(os.rename, E(d, 'd3'), E(d, 'full', 'x', 'd3')),
            call(os.rename, E(d, 'full'), E(d, 'full', 'x', 'in')),
            call(os.rename, E(d, 'full'), E(d, 'full', 'x')),
            call(os.rename, E(d, 'e'), E(d, 'e', 'in'))]


@case('rename over a hard link of the same inode is a no-op', watch=['f', 'h'])
def _(d, c):
    put(E(d, 'f'), b'x')
    os.link(E(d, 'f'), E(d, 'h'))
    return [call(os.rename, E(d, 'f'), E(d, 'h')), call(lambda: sorted(os.listdir(d)))]


@case('renameat2 NOREPLACE and EXCHANGE', watch=['.', 'a', 'b', 'd', 'd/x', 'e', 'e/y'])
def _(d, c):
    put(E(d, 'a'), b'aaa', 0o600)
    put(E(d, 'b'), b'b')
    os.mkdir(E(d, 'd'))
    put(E(d, 'd', 'x'), b'xx')
    os.mkdir(E(d, 'e'))
    os.mkdir(E(d, 'e', 'y'))
    return [call(renameat2, E(d, 'a'), E(d, 'b'), RENAME_NOREPLACE),
            call(renameat2, E(d, 'a'), E(d, 'c'), RENAME_NOREPLACE),
            call(renameat2, E(d, 'c'), E(d, 'b'), RENAME_EXCHANGE),
            call(renameat2, E(d, 'c'), E(d, 'missing'), RENAME_EXCHANGE),
            call(renameat2, E(d, 'd', 'x'), E(d, 'e', 'y'), RENAME_EXCHANGE),
            call(renameat2, E(d, 'd'), E(d, 'e', 'x'), RENAME_EXCHANGE),
            call(renameat2, E(d, 'b'), E(d, 'b'), RENAME_EXCHANGE),
            call(lambda: (os.stat(E(d, 'd')).st_nlink, os.stat(E(d, 'e')).st_nlink)),
            call(lambda: sorted(os.listdir(E(d, 'd')) + os.listdir(E(d, 'e'))))]


@case('O_APPEND, access and a file replaced by a rename keep their link counts', watch=['f', 'h', 'g', 'x'])
def _(d, c):
    put(E(d, 'f'), b'one', 0o644)
    os.link(E(d, 'f'), E(d, 'h'))
    put(E(d, 'g'), b'gg', 0o600)
    put(E(d, 'x'), b'', 0o644)
    return [call(write_file, E(d, 'f'), b'two', os.O_WRONLY | os.O_APPEND),
            call(os.rename, E(d, 'g'), E(d, 'h')),
            call(os.access, E(d, 'x'), os.X_OK),
            call(os.access, E(d, 'g'), os.F_OK),
            call(lambda: read_file(E(d, 'f')))]


@case('another user\'s directory: chmod, rename out of a sticky directory', watch=['t', 't/theirdir', 'closed'], prep=lambda d, c: (prep_sticky(d, c), prep_others(d, c)))
def _(d, c):
    return [call(os.chmod, E(d, 'closed'), 0o777),
            call(os.rename, E(d, 't', 'theirdir'), E(d, 'moved')),
            call(opened, E(d, 'closed', 'nope'), os.O_CREAT | os.O_WRONLY, 0o644),
            call(os.rmdir, E(d, 'closed'))]


@case('xattrs: user.* needs write permission; missing names, create/replace flags', watch=['rw', 'ro', 'f'], prep=prep_others)
def _(d, c):
    put(E(d, 'f'))
    return [call(os.setxattr, E(d, 'f'), 'user.k', b'v'),
            call(os.getxattr, E(d, 'f'), 'user.k'),
            call(os.setxattr, E(d, 'f'), 'user.k', b'w', os.XATTR_CREATE),
            call(os.setxattr, E(d, 'f'), 'user.n', b'w', os.XATTR_REPLACE),
            call(os.getxattr, E(d, 'f'), 'user.missing'),
            call(os.removexattr, E(d, 'f'), 'user.missing'),
            call(lambda: sorted(os.listxattr(E(d, 'f')))),
            call(os.setxattr, E(d, 'rw'), 'user.k', b'v'),
            call(os.setxattr, E(d, 'ro'), 'user.k', b'v'),
            call(os.getxattr, E(d, 'ro'), 'user.k'),
            call(os.setxattr, E(d, 'f'), 'user.' + 'x' * 251, b'v'),
            call(os.setxattr, E(d, 'f'), 'user.' + 'x' * 252, b'v')]


@case('moving and linking across directories needs write permission on both', watch=['open', 'closed'], prep=lambda d, c: (
    prep_others(d, c), put(E(d, 'closed', 'x'), b'x', 0o666, c['ouid'], c['ogid'])))
def _(d, c):
    put(E(d, 'mine'), b'm')
    return [call(os.rename, E(d, 'mine'), E(d, 'closed', 'mine')),
            call(os.rename, E(d, 'closed', 'x'), E(d, 'x')),
            call(os.link, E(d, 'mine'), E(d, 'closed', 'l')),
            call(os.rename, E(d, 'mine'), E(d, 'open', 'mine')),
            call(os.symlink, 'x', E(d, 'closed', 's')),
            call(os.listdir, E(d, 'closed'))]


@case('mkdir and rmdir', watch=['.', 'sub', 'full'])
def _(d, c):
    os.mkdir(E(d, 'full'))
    put(E(d, 'full', 'x'))
    put(E(d, 'f'))
    return [call(os.mkdir, E(d, 'sub'), 0o750),
            call(os.mkdir, E(d, 'sub')),
            call(os.mkdir, E(d, 'f')),
            call(os.mkdir, E(d, 'nodir', 'x')),
            call(os.rmdir, E(d, 'full')),
            call(os.rmdir, E(d, 'f')),
            call(os.rmdir, E(d, 'sub', '.')),
            call(os.rmdir, E(d, 'missing')),
            call(os.rmdir, E(d, 'sub'))]


@case('directory link counts', watch=['a', 'a/b'])
def _(d, c):
    os.mkdir(E(d, 'a'))
    os.mkdir(E(d, 'a', 'b'))
    os.mkdir(E(d, 'a', 'c'))
    os.mkdir(E(d, 'a', 'b', 'x'))
    os.rename(E(d, 'a', 'b', 'x'), E(d, 'a', 'x'))
    os.rmdir(E(d, 'a', 'c'))
    return [call(lambda: os.stat(E(d, 'a')).st_nlink), call(lambda: os.stat(E(d, 'a', 'b')).st_nlink)]


def prep_setgid_dir(d, c):
    mkdir_as(E(d, 'g'), 0o2777, c['ouid'], c['ogid'])


@case('a setgid directory passes its group on', watch=['g/f', 'g/sub'], prep=prep_setgid_dir)
def _(d, c):
    return [call(opened, E(d, 'g', 'f'), os.O_CREAT | os.O_WRONLY, 0o644), call(os.mkdir, E(d, 'g', 'sub'), 0o755)]


@case('symlink and readlink', watch=['.', 'l', 'f'])
def _(d, c):
    put(E(d, 'f'))
    return [call(os.symlink, 'some/where/else', E(d, 'l')),
            call(os.readlink, E(d, 'l')),
            call(os.symlink, 'x', E(d, 'l')),
            call(os.symlink, 'x', E(d, 'f')),
            call(os.readlink, E(d, 'f')),
            call(os.readlink, E(d, 'missing'))]


@case('ELOOP', watch=['a'])
def _(d, c):
    os.symlink('b', E(d, 'a'))
    os.symlink('a', E(d, 'b'))
    os.symlink('self/x', E(d, 'self'))
    return [call(opened, E(d, 'a'), os.O_RDONLY), call(os.stat, E(d, 'a')), call(os.stat, E(d, 'self')),
            call(opened, E(d, 'a'), os.O_CREAT | os.O_WRONLY, 0o644), call(os.mkdir, E(d, 'a', 'x'))]


@case('chmod', watch=['f', 'ro'], prep=prep_others)
def _(d, c):
    put(E(d, 'f'))
    return [call(os.chmod, E(d, 'f'), 0o600), call(os.chmod, E(d, 'ro'), 0o666), call(os.chmod, E(d, 'missing'), 0o600)]


@case('chown and chgrp', watch=['f', 'rw', 'g'], prep=prep_others)
def _(d, c):
    put(E(d, 'f'))
    put(E(d, 'g'))
    return [call(os.chown, E(d, 'f'), c['ouid'], -1),
            call(os.chown, E(d, 'f'), -1, c['ogid']),
            call(os.chown, E(d, 'f'), os.getuid(), -1),
            call(os.chown, E(d, 'g'), -1, os.getgid()),
            call(os.chown, E(d, 'rw'), -1, c['ogid']),
            call(os.chown, E(d, 'rw'), os.getuid(), os.getgid())]


@case('lchown of a symlink', watch=['l', 'f'])
def _(d, c):
    put(E(d, 'f'))
    os.symlink('f', E(d, 'l'))
    return [call(os.lchown, E(d, 'l'), -1, os.getgid()), call(os.lchown, E(d, 'l'), c['ouid'], -1)]


@case('chmod setgid outside the file\'s group', watch=['f'],
      prep=lambda d, c: put(E(d, 'f'), b'', 0o644, c['ruid'], c['ogid']))
def _(d, c):
    return [call(os.chmod, E(d, 'f'), 0o2755)]


@case('write and truncate clear suid/sgid', watch=['w', 't', 'k'])
def _(d, c):
    for n in ('w', 't', 'k'):
        put(E(d, n), b'data', 0o6755)
        os.chmod(E(d, n), 0o6755)
    return [call(write_file, E(d, 'w'), b'more'), call(os.truncate, E(d, 't'), 1), call(os.chown, E(d, 'k'), -1, -1)]


@case('truncate and ftruncate', watch=['f', 'g', 'ro'], prep=prep_others)
def _(d, c):
    put(E(d, 'f'), b'0123456789')
    put(E(d, 'g'), b'0123456789')
    os.mkdir(E(d, 'sub'))
    return [call(os.truncate, E(d, 'f'), -1),
            call(ftruncate, E(d, 'f'), -1),
            call(os.truncate, E(d, 'f'), 4),
            call(ftruncate, E(d, 'g'), 100000),
            call(ftruncate, E(d, 'g'), 3, os.O_RDONLY),
            call(os.truncate, E(d, 'ro'), 0),
            call(os.truncate, E(d, 'sub'), 0)]


@case('utimensat: UTIME_NOW for writers, explicit times for the owner', watch=['rw', 'ro'], prep=prep_others)
def _(d, c):
    return [call(utimensat, E(d, 'rw'), UTIME_NOW, UTIME_NOW),
            call(utimensat, E(d, 'rw'), 1_000_000_000_000_000_000, 1_000_000_000_000_000_000),
            call(utimensat, E(d, 'rw'), UTIME_OMIT, UTIME_OMIT),
            call(utimensat, E(d, 'ro'), UTIME_NOW, UTIME_NOW)]


@case('utimensat: nanoseconds and UTIME_OMIT', watch=['f', 'g'], times=True)
def _(d, c):
    put(E(d, 'f'))
    put(E(d, 'g'))
    os.symlink('f', E(d, 'l'))
    return [call(utimensat, E(d, 'f'), 1_600_000_000_123_456_789, 1_500_000_000_987_654_321),
            call(utimensat, E(d, 'f'), UTIME_OMIT, 1_400_000_000_000_000_001),
            call(utimensat, E(d, 'g'), 1_300_000_000_000_000_002, 1_300_000_000_000_000_002),
            call(utimensat, E(d, 'g'), 1_100_000_000_000_000_004, UTIME_OMIT),
            call(utimensat, E(d, 'l'), 1_200_000_000_000_000_003, 1_200_000_000_000_000_003)]


@case('names of 255 bytes, ENAMETOOLONG past them', watch=['.'])
def _(d, c):
    n255 = 'n' * 255
    u255 = 'é' * 127 + 'x'
    return [call(opened, E(d, n255), os.O_CREAT | os.O_WRONLY, 0o644),
            call(opened, E(d, u255), os.O_CREAT | os.O_WRONLY, 0o644),
            call(opened, E(d, 'n' * 256), os.O_CREAT | os.O_WRONLY, 0o644),
            call(os.mkdir, E(d, 'd' * 256)),
            call(os.symlink, 'x', E(d, 's' * 256)),
            call(os.stat, E(d, 'n' * 256)),
            call(os.rename, E(d, n255), E(d, 'r' * 256)),
            call(lambda: os.stat(E(d, n255)).st_size)]


@case('mkfifo', watch=['p'])
def _(d, c):
    return [call(os.mkfifo, E(d, 'p'), 0o640), call(os.mkfifo, E(d, 'p'))]


@case('mknod: devices only as root, FIFO, socket, regular file, bad types', watch=['.', 'c', 'b', 'p', 's', 'r'])
def _(d, c):
    return [call(os.mknod, E(d, 'c'), stat.S_IFCHR | 0o600, os.makedev(1, 3)),
            call(os.mknod, E(d, 'b'), stat.S_IFBLK | 0o640, os.makedev(7, 300)),
            call(os.mknod, E(d, 'p'), stat.S_IFIFO | 0o640, os.makedev(1, 3)),
            call(os.mknod, E(d, 's'), stat.S_IFSOCK | 0o600),
            call(os.mknod, E(d, 'r'), 0o600),
            call(os.mknod, E(d, 'x'), stat.S_IFDIR | 0o755),
            call(os.mknod, E(d, 'x'), stat.S_IFLNK | 0o777),
            call(os.mknod, E(d, 'x'), 0o170000 | 0o644),
            call(os.mknod, E(d, 'p'), stat.S_IFIFO | 0o640),
            call(os.truncate, E(d, 'p'), 0),
            call(os.link, E(d, 'p'), E(d, 'p2')),
            call(lambda: os.lstat(E(d, 'p')).st_nlink),
            call(os.unlink, E(d, 'p2'))]


def fifo_roundtrip(path):
    # Both ends opened non-blocking by one process: the kernel's pipe carries the bytes.
    r = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        w = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.write(w, b'through the pipe')
        os.close(w)
        return os.read(r, 100).decode()
    finally:
        os.close(r)


@case('FIFO: a writer without a reader ENXIO, bytes through it, size 0', watch=['p'])
def _(d, c):
    os.mkfifo(E(d, 'p'), 0o644)
    return [call(opened, E(d, 'p'), os.O_WRONLY | os.O_NONBLOCK),
            call(fifo_roundtrip, E(d, 'p')),
            call(lambda: os.lstat(E(d, 'p')).st_size)]


def unix_roundtrip(path):
    import socket
    srv = socket.socket(socket.AF_UNIX)
    try:
        srv.bind(path)
        srv.listen(1)
        cli = socket.socket(socket.AF_UNIX)
        try:
            cli.connect(path)
            conn, _ = srv.accept()
            cli.sendall(b'hello socket')
            got = conn.recv(100).decode()
            conn.close()
            return got
        finally:
            cli.close()
    finally:
        srv.close()


def bind_again(path):
    import socket
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(path)
    finally:
        s.close()


@case('Unix socket: bind makes a socket entry, connect by its path, a second bind EADDRINUSE', watch=['s'])
def _(d, c):
    return [call(unix_roundtrip, E(d, 's')), call(bind_again, E(d, 's')),
            call(opened, E(d, 's'), os.O_RDONLY)]


@case('times changed by each call', watch=['.', 'f', 'sub'])
def _(d, c):
    put(E(d, 'f'), b'x')
    os.mkdir(E(d, 'sub'))
    out = []
    steps = [('write', lambda: write_file(E(d, 'f'), b'y')),
             ('truncate', lambda: os.truncate(E(d, 'f'), 1)),
             ('chmod', lambda: os.chmod(E(d, 'f'), 0o600)),
             ('chown', lambda: os.chown(E(d, 'f'), -1, -1)),
             ('link', lambda: os.link(E(d, 'f'), E(d, 'sub', 'h'))),
             ('rename', lambda: os.rename(E(d, 'sub', 'h'), E(d, 'sub', 'h2'))),
             ('unlink', lambda: os.unlink(E(d, 'sub', 'h2'))),
             ('create', lambda: creat(E(d, 'sub', 'n'))),
             ('mkdir', lambda: os.mkdir(E(d, 'sub', 'm'))),
             ('rmdir', lambda: os.rmdir(E(d, 'sub', 'm'))),
             ('symlink', lambda: os.symlink('x', E(d, 'sub', 's'))),
             ('setxattr', lambda: os.setxattr(E(d, 'f'), 'user.k', b'v')),
             ('read', lambda: read_file(E(d, 'f')))]
    for name, fn in steps:
        before = {p: times_of(E(d, p)) for p in ('f', 'sub')}
        time.sleep(0.01)
        r = call(fn)
        after = {p: times_of(E(d, p)) for p in ('f', 'sub')}
        ch = ','.join('%s:%s%s' % (p, 'm' if before[p][0] != after[p][0] else '', 'c' if before[p][1] != after[p][1] else '')
                      for p in ('f', 'sub'))
        out.append('%s %s %s' % (name, r, ch))
    return out


def prep(base, ruid, rgid, ouid, ogid):
    ctx = {'ruid': ruid, 'rgid': rgid, 'ouid': ouid, 'ogid': ogid}
    os.umask(0o022)
    for i, (name, p, _run, _w, _t) in enumerate(CASES):
        d = E(base, 'c%02d' % i)
        os.mkdir(d)
        os.chown(d, ruid, rgid)
        if p:
            p(d, ctx)


def run(base, ouid, ogid):
    ctx = {'ruid': os.getuid(), 'rgid': os.getgid(), 'ouid': ouid, 'ogid': ogid}
    os.umask(0o022)
    for i, (name, _p, fn, watch, times) in enumerate(CASES):
        d = E(base, 'c%02d' % i)
        before = {w: times_of(E(d, w)) for w in watch}
        time.sleep(0.01)
        try:
            steps = fn(d, ctx)
        except OSError as e:
            steps = ['setup failed: %s' % errno.errorcode.get(e.errno, e.errno)]
        changed = {}
        for w in watch:
            a, b = before[w], times_of(E(d, w))
            if a is None or b is None:
                changed[w] = 'new' if a is None and b is not None else ('gone' if b is None and a is not None else '-')
            else:
                changed[w] = ('m' if a[0] != b[0] else '') + ('c' if a[1] != b[1] else '')
        print(json.dumps({'case': name, 'steps': steps,
                          'stat': {w: describe(E(d, w), times) for w in watch},
                          'changed': changed, 'names': sorted(os.listdir(d))}), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'prep':
        prep(sys.argv[2], *map(int, sys.argv[3:7]))
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
