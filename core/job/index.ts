/** Import/Export jobs through ARM: the face of core/job. */
export * from './job-rules.js';
export * from './job-session.js';
export { parsePublishSettings } from './publish-settings.js';
export type * from '../azure/job-model.js';
