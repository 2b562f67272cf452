// Labels and UUIDs: the two ways to name a pool or a container.
import { StrataError } from '../errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LABEL_RE = /^[a-zA-Z0-9._:-]{1,127}$/;

export function isUuid(s: string): boolean { return UUID_RE.test(s); }

/** Something meant as a UUID: only hex digits and dashes, and either 4+ dashes and 30+ characters or 32+ hex digits. */
function looksLikeUuid(s: string): boolean {
  if (!/^[0-9a-f-]+$/i.test(s)) return false;
  const dashes = s.length - s.replace(/-/g, '').length;
  return (dashes >= 4 && s.length >= 30) || s.length - dashes >= 32;
}

/** Validates a label; returns it. */
export function checkLabel(label: string, what: 'pool' | 'container'): string {
  if (!LABEL_RE.test(label)) {
    throw new StrataError('EINVAL', `bad ${what} label '${label}': use 1-127 characters from a-z A-Z 0-9 . _ : -`);
  }
  if (isUuid(label) || looksLikeUuid(label)) throw new StrataError('EINVAL', `bad ${what} label '${label}': a label cannot look like a UUID`);
  // Labels are also names in paths (daos:// URIs, the FUSE mount): '.' and '..' already mean something there.
  if (label === '.' || label === '..') throw new StrataError('EINVAL', `bad ${what} label '${label}': '.' and '..' name directories in paths`);
  return label;
}

/** Classifies a name given by a user: a UUID (lower-cased) or a label. EINVAL for neither. */
export function parseRef(ref: string, what: 'pool' | 'container'): { uuid: string } | { label: string } {
  const s = ref.trim();
  if (isUuid(s)) return { uuid: s.toLowerCase() };
  if (looksLikeUuid(s)) throw new StrataError('EINVAL', `bad ${what} UUID '${ref}'`);
  if (!LABEL_RE.test(s)) throw new StrataError('EINVAL', `bad ${what} label or UUID '${ref}'`);
  return { label: s };
}

/** Validates a UUID given explicitly (e.g. to re-create a container with its old UUID). */
export function checkUuid(s: string, what: 'pool' | 'container'): string {
  if (!isUuid(s)) throw new StrataError('EINVAL', `bad ${what} UUID '${s}'`);
  return s.toLowerCase();
}
