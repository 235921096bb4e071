/**
 * The face of the engine: `cli/` and `bench/` import from here only.
 */
export { SeedshipError, usageError, errnoCode, type ErrorCode } from './errors.js';
export { parseSize, formatBytes, formatDuration } from './util/size.js';
export { type DriveInfo, formatDriveInfo, parseDriveInfo } from './manifest/drive-info.js';
export { SESSION_ROOT_NAME, defaultSessionDir, sessionFiles } from './session/session-layout.js';
export type { PrepareOptions, PrepareIO, PrepareResult, ProgressEvent, DriveSummary } from './pipeline/prepare-types.js';
export { runPrepare, SEEDSHIP_VERSION } from './pipeline/run.js';
export { serviceNamingRules } from './plan/default-rules.js';
export type { NamingRules } from './pipeline/naming-rules.js';
export type { SkippedEntry } from './plan/scan.js';
