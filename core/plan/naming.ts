// TEMPORARY placeholder until the naming branch lands (same API); replaced by its full rule set.
export interface NamingProblem { rule: string; message: string; severity?: 'error' | 'warning' }
export function checkContainerName(name: string): string | undefined {
  return /^(?:\$root|[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9])$/.test(name) ? undefined : 'container names are 3-63 lowercase letters, digits and single hyphens';
}
export function checkJobName(name: string): string | undefined {
  return /^[a-z][a-z0-9_-]{2,63}$/.test(name) ? undefined : 'job names are 3-64 lowercase letters, digits, hyphens and underscores, starting with a letter';
}
export function checkStagedPath(relPath: string, _opts: { container: string; suffix: string }): NamingProblem[] {
  return /[\u0000-\u001f]/.test(relPath) ? [{ rule: 'control-char', message: 'control character in name' }] : [];
}
export class SiblingCollisionChecker {
  check(_names: readonly string[]): { name: string; other: string }[] {
    return [];
  }
}
