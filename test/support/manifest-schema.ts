import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SaxesParser } from 'saxes';
import { validateXML } from 'xmllint-wasm';

const XSD = fileURLToPath(new URL('../../../docs/drive-manifest.xsd', import.meta.url));

/** Validate a manifest against docs/drive-manifest.xsd with libxml2 (compiled to wasm). */
export async function validateManifestXml(xml: string): Promise<{ valid: boolean; errors: string[] }> {
  const r = await validateXML({
    xml: [{ fileName: 'DriveManifest.xml', contents: xml }],
    schema: [{ fileName: 'drive-manifest.xsd', contents: readFileSync(XSD, 'utf8') }],
  });
  return { valid: r.valid, errors: r.errors.map((e) => e.rawMessage) };
}

/**
 * The documented rules XSD 1.0 cannot express: per blob, blocks contiguous from 0 covering Length,
 * block ids all-or-none, valid base64 and of equal length; page ranges 512-aligned, ordered and not
 * overlapping, inside Length, and page blob Length a multiple of 512.
 */
export function checkManifestRules(xml: string): string[] {
  const problems: string[] = [];
  const p = new SaxesParser();
  let blob:
    | { path: string; length: number; kind?: 'block' | 'page'; ranges: { o: number; l: number; id?: string }[] }
    | undefined;
  let text = '';
  p.on('opentag', (t) => {
    text = '';
    const a = t.attributes as Record<string, string>;
    if (t.name === 'Blob') blob = { path: '', length: -1, ranges: [] };
    else if (blob && t.name === 'PageRangeList') blob.kind = 'page';
    else if (blob && t.name === 'BlockList') blob.kind = 'block';
    else if (blob && (t.name === 'Block' || t.name === 'PageRange')) {
      blob.ranges.push({ o: Number(a.Offset), l: Number(a.Length), ...(a.Id !== undefined ? { id: a.Id } : {}) });
    }
  });
  p.on('text', (x) => (text += x));
  p.on('closetag', (t) => {
    if (!blob) return;
    if (t.name === 'BlobPath') blob.path = text.trim();
    else if (t.name === 'Length') blob.length = Number(text.trim());
    else if (t.name === 'Blob') {
      const b = blob;
      blob = undefined;
      if (b.kind === 'page') {
        if (b.length % 512 !== 0) problems.push(`${b.path}: page blob length ${b.length} is not a multiple of 512`);
        let end = 0;
        for (const r of b.ranges) {
          if (r.o % 512 || r.l % 512) problems.push(`${b.path}: page range ${r.o}+${r.l} is not 512-aligned`);
          if (r.o < end) problems.push(`${b.path}: page range at ${r.o} overlaps or is out of order`);
          end = r.o + r.l;
        }
        if (end > b.length) problems.push(`${b.path}: page ranges run past Length`);
      } else {
        let at = 0;
        for (const r of b.ranges) {
          if (r.o !== at) problems.push(`${b.path}: block at ${r.o} leaves a gap or overlaps (expected ${at})`);
          at = r.o + r.l;
        }
        if (at !== b.length) problems.push(`${b.path}: blocks cover ${at} bytes, Length is ${b.length}`);
        const ids = b.ranges.map((r) => r.id);
        if (ids.some((i) => i === undefined) && ids.some((i) => i !== undefined))
          problems.push(`${b.path}: some blocks have ids, some do not`);
        const lens = new Set(ids.filter((i): i is string => i !== undefined).map((i) => i.length));
        if (lens.size > 1) problems.push(`${b.path}: block ids of different lengths`);
        for (const i of ids)
          if (i !== undefined && !/^[A-Za-z0-9+/]+={0,2}$/.test(i))
            problems.push(`${b.path}: block id ${i} is not base64`);
      }
    }
  });
  p.write(xml).close();
  return problems;
}
