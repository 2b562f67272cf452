// The mount table of this process (/proc/self/mountinfo), read in one place:
// mount points, their device numbers, filesystem types and sources. Fields
// are unescaped (mountinfo writes space, tab, newline and backslash as \ooo).
import fs from 'node:fs';

export interface MountEntry {
  mountpoint: string;
  /** st_dev as "major:minor". */
  dev: string;
  fstype: string;
  source: string;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Every mount, in the table's order (a later one at the same point is on top). Empty when the table cannot be read. */
export function mountTable(): MountEntry[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fstype, source] = right.split(' ');
    if (f.length < 5 || fstype === undefined) continue;
    out.push({ mountpoint: unescape(f[4]!), dev: f[2] ?? '', fstype, source: unescape(source ?? '') });
  }
  return out;
}
