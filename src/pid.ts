// Whether a process of this host still runs: signal 0 reaches it (EPERM: it
// runs as another user). Only for pids recorded on this host; across hosts
// and PID namespaces a pid proves nothing (extent files use locks instead).
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
