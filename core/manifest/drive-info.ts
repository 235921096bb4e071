/** The drive-info file job creation reads for each drive (WAImportExport's format). */
import { SeedshipError } from '../errors/errors.js';
import { parseFlatXml, xmlEscape } from '../util/xml.js';

/**
 * What job creation needs about one drive: the four DriveStatus fields of the ARM job
 * (`driveId`, `bitLockerKey`, `manifestFile`, `manifestHash`), as WAImportExport's
 * `<DriveId>.xml` drive-info file carries them. Kept in the session dir, mode 0600.
 */
export interface DriveInfo {
  readonly driveId: string;
  /** The 48-digit BitLocker numerical password, or '' when the drive was not BitLocker-encrypted. */
  readonly bitLockerKey: string;
  /** Path of the manifest relative to the drive root, Windows style: `\DriveManifest.xml`. */
  readonly manifestFile: string;
  /** MD5 of the manifest file, upper-case hex. */
  readonly manifestHash: string;
}

/** Serialise a drive-info file. */
export function formatDriveInfo(d: DriveInfo): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<Drive>\r\n' +
    `  <DriveId>${xmlEscape(d.driveId)}</DriveId>\r\n` +
    `  <BitLockerKey>${xmlEscape(d.bitLockerKey)}</BitLockerKey>\r\n` +
    `  <ManifestFile>${xmlEscape(d.manifestFile)}</ManifestFile>\r\n` +
    `  <ManifestHash>${xmlEscape(d.manifestHash)}</ManifestHash>\r\n` +
    '</Drive>\r\n'
  );
}

/** Parse a drive-info file; `source` names it in errors. */
export function parseDriveInfo(text: string, source: string): DriveInfo {
  let parsed: ReturnType<typeof parseFlatXml>;
  try {
    parsed = parseFlatXml(text);
  } catch (err) {
    throw new SeedshipError(
      'E_INTEGRITY',
      `drive-info file ${source} is not valid XML (${(err as Error).message}); re-run prepare to rewrite it`,
      { path: source, cause: err },
    );
  }
  const f = parsed.fields;
  const need = (k: string): string => {
    const v = f.get(k);
    if (v === undefined)
      throw new SeedshipError('E_INTEGRITY', `drive-info file ${source} has no <${k}>; re-run prepare to rewrite it`, {
        path: source,
      });
    return v;
  };
  if (parsed.root !== 'Drive')
    throw new SeedshipError('E_INTEGRITY', `drive-info file ${source} has root <${parsed.root}>, expected <Drive>`, {
      path: source,
    });
  return {
    driveId: need('DriveId'),
    bitLockerKey: f.get('BitLockerKey') ?? '',
    manifestFile: need('ManifestFile'),
    manifestHash: need('ManifestHash'),
  };
}
