/**
 * The naming rules the engine checks of what the user types, injected (core/manifest/naming.ts provides the real ones).
 */
export interface NamingRules {
  /** Why a job name is refused, or undefined. */
  jobName(name: string): string | undefined;
  /** Why a container name is refused, or undefined. */
  containerName(name: string): string | undefined;
  /** Why a BitLocker numerical password is refused, or undefined. */
  bitlockerKey(key: string): string | undefined;
}
