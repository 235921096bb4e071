/**
 * The face of the engine: `cli/` and `bench/` import from here only.
 */
export { SeedshipError, usageError, errnoCode, type ErrorCode } from './errors/errors.js';
export { parseSize, formatBytes, formatDuration } from './util/size.js';
export { type DriveInfo, formatDriveInfo, parseDriveInfo } from './manifest/drive-info.js';
export { SESSION_ROOT_NAME, defaultSessionDir, sessionFiles } from './session/session-layout.js';
export type { PrepareOptions, PrepareIO, PrepareResult, DriveSummary } from './pipeline/prepare-types.js';
export { runPrepare, SEEDSHIP_VERSION } from './pipeline/run.js';
export { serviceNamingRules } from './plan/default-rules.js';
export type { NamingRules } from './staging/naming-rules.js';
export type { SkippedEntry } from './staging/scan.js';
export { runVerify, verifyThreads } from './verify/verify-drives.js';
export type { DriveVerifyResult, VerifyProblem } from './verify/verify-drive.js';
export { restoreFromDrives, type RestoreResult } from './restore/restore-drives.js';
export { runPlan, countDrives, MIN_DRIVE_BYTES, type PlanResult } from './plan/estimate.js';
export { resolveStaging, discoverJobSession } from './pipeline/open-session.js';
export { driveUnsuitability } from './check/drive-suitability.js';
export {
  runServiceCheck,
  sessionDrivesToCheck,
  type DriveToCheck,
  type ServiceCheckRequest,
} from './check/service-check-input.js';
export type { CheckFinding, CheckRule, CheckSeverity, DriveCheck, ServiceCheckResult } from './check/service-check.js';
export type { VolumeInfo } from '../native/interfaces.js';
export { compareTrees, type TreeDiff } from './demo/compare-trees.js';
export * as job from './job/index.js';
export { importDrive, LOG_CONTAINER, type DriveImportResult } from './datacenter/import-drive.js';
export { runImport, type RunImportOptions } from './datacenter/run-import.js';
export { restoreFromStorage } from './restore/restore-storage.js';
export { openSessionView } from './session/session-view.js';
export { readDriveJson as readDriveJsonOf } from './drives/drive-identity.js';
export { runSync, type SyncResult } from './datacenter/sync.js';
export { driveBlobs, type DriveBlob } from './journal/drive-blobs.js';
export { blobTweakSeed } from './chunks/chunk-task.js';
export { runHardwareBench, BENCH_LEVELS, type HardwareBenchResult } from './hardware/hardware-bench.js';
export { BENCH_MIN_SIZE_BYTES } from './hardware/drive-write.js';
export { detectWriteCliff, type WriteWindow, type WriteCliff } from './hardware/write-cliff.js';
export { mbps, threadsText } from './hardware/recommend.js';
export {
  ProgressBoard,
  ProgressTrack,
  type ProgressSnapshot,
  type TrackSnapshot,
  type PhaseChange,
  type TrackInit,
  type TrackState,
  type ProgressUnit,
} from './util/progress.js';
export * as report from './report/index.js';
