/** The operator's report of a session (`seedship report`, and prepare at the end of each run): the face of core/report. */
export { gatherReport, defaultReportFile, logsDir, type ReportData, type ReportDrive, type GatherOptions } from './report-data.js';
export { renderReportHtml } from './report-html.js';
export { escapeHtml } from './html-text.js';
export type { ReportRun, ReportWarning } from './run-logs.js';
export type { Throughput, ThroughputSeries } from './throughput.js';
