/** The operator's report of a session (`seedship report`, written by prepare too): the face of core/report. */
export { gatherReport, defaultReportFile, logsDir } from './report-data.js';
export type { ReportData, ReportDrive, GatherOptions } from './report-data.js';
export { renderReportHtml } from './report-html.js';
export { escapeHtml } from './html-text.js';
export type { ReportRun, ReportWarning } from './run-logs.js';
export type { Throughput, ThroughputSeries } from './throughput.js';
