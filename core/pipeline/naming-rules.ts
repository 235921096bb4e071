import type { PathRules } from './prescan.js';

/** Every naming rule the engine checks, injected (core/plan/naming.ts provides the real ones). */
export interface NamingRules extends PathRules {
  /** Why a job name is refused, or undefined. */
  jobName(name: string): string | undefined;
  /** Why a container name is refused, or undefined. */
  containerName(name: string): string | undefined;
  /** Why a BitLocker numerical password is refused, or undefined. */
  bitlockerKey(key: string): string | undefined;
}
