/** Parses /proc/self/mountinfo and finds the mount holding a path. */
/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  readonly mountPoint: string;
  readonly majorMinor: string; // "8:1"
  readonly root: string;
  readonly fsType: string;
  readonly source: string;
  readonly readOnly: boolean;
}

/** Undo the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parse /proc/self/mountinfo text (see proc(5)); malformed lines are ignored. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0 || dash + 3 > f.length) continue;
    const options = (f[5] ?? '').split(',');
    const superOptions = (f[dash + 3] ?? '').split(',');
    out.push({
      majorMinor: f[2]!,
      root: unescapeMountField(f[3]!),
      mountPoint: unescapeMountField(f[4]!),
      fsType: f[dash + 1]!,
      source: unescapeMountField(f[dash + 2]!),
      readOnly: options.includes('ro') || superOptions.includes('ro'),
    });
  }
  return out;
}

/** File systems that are not storage: never offered as drives. tmpfs and loop devices are kept. */
export const PSEUDO_FS = new Set([
  'proc',
  'sysfs',
  'cgroup',
  'cgroup2',
  'devpts',
  'devtmpfs',
  'mqueue',
  'debugfs',
  'tracefs',
  'securityfs',
  'pstore',
  'bpf',
  'configfs',
  'fusectl',
  'hugetlbfs',
  'autofs',
  'binfmt_misc',
  'efivarfs',
  'rpc_pipefs',
  'nsfs',
  'overlay',
  'squashfs',
]);

/** The mount holding `path` (already a real path): the longest mount point that is a prefix. */
export function mountOf(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const e of entries) {
    const mp = e.mountPoint;
    const inside = mp === '/' || path === mp || path.startsWith(`${mp}/`);
    // Later lines are mounted over earlier ones at the same point: `>=` keeps the last.
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = e;
  }
  return best;
}
