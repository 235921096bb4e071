/**
 * The face of the engine: `cli/` and `bench/` import from here only.
 */
export { SeedshipError, usageError, errnoCode, type ErrorCode } from './errors.js';
export { parseSize, formatBytes, formatDuration } from './util/size.js';
export { type DriveInfo, formatDriveInfo, parseDriveInfo } from './manifest/drive-info.js';
export { SESSION_ROOT_NAME, defaultSessionDir, sessionFiles } from './session/session-layout.js';
