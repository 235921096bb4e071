/** Small XML helpers: escaping, the characters XML cannot carry, and a flat-document parser. */
import { SaxesParser } from 'saxes';
import { SeedshipError } from '../errors/errors.js';

/** Escape text or attribute content for XML. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** Characters XML 1.0 cannot carry at all, even escaped. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters XML 1.0 forbids is the point
export const XML_FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Parse a small, flat XML document (`<Root><A>x</A><B>y</B></Root>`) into the root name and a map
 * of child element texts. Refuses DOCTYPE (so no entity can expand) and nested children.
 */
export function parseFlatXml(text: string): { root: string; fields: Map<string, string> } {
  const parser = new SaxesParser({ xmlns: false });
  const stack: string[] = [];
  const fields = new Map<string, string>();
  let root = '';
  let textBuf = '';
  let error: Error | undefined;
  parser.on('doctype', () => {
    error ??= new SeedshipError('E_INTEGRITY', 'DOCTYPE is not allowed');
  });
  parser.on('opentag', (t) => {
    if (stack.length === 0) root = t.name;
    else if (stack.length > 1) error ??= new SeedshipError('E_INTEGRITY', `unexpected nested element <${t.name}>`);
    stack.push(t.name);
    textBuf = '';
  });
  parser.on('text', (t) => {
    textBuf += t;
  });
  parser.on('closetag', (t) => {
    stack.pop();
    if (stack.length === 1) fields.set(t.name, textBuf.trim());
    textBuf = '';
  });
  parser.on('error', (e) => {
    error ??= new SeedshipError('E_INTEGRITY', e.message, { cause: e });
  });
  parser.write(text).close();
  if (error) throw error;
  return { root, fields };
}
