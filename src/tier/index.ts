// The tier layer: workflows above mover, uns and park — archive a directory
// into a container behind a link, restore it, park it cold as HDF5 files and
// back, status, policies, and crash recovery from journals (docs/tier.md).
export { archive, type ArchiveOptions, type ArchiveResult } from './archive.js';
export { restore, type RestoreOptions, type RestoreResult } from './restore.js';
export { park, unpark, type ParkOptions, type ParkResult, type UnparkOptions, type UnparkResult } from './park.js';
export { status, describeLink, type TierEntry, type TierState, type StatusOptions } from './status.js';
export { recover, type RecoverOptions, type RecoverOutcome } from './recover.js';
export { scanCandidates, applyPolicy, type ScanOptions, type Candidate, type ApplyOptions, type ApplyReport, type ApplyItem } from './scan.js';
export { parkedGuard } from './guard.js';
export { listJournals, tierDir, type TierJournal } from './journal.js';
export { PARKED_XATTR, type ParkedRecord, type ArchivedRecord } from './records.js';
export { parseAge, formatBytes, formatAge, globToRegExp } from './util.js';
