/** Reads the subscriptions of a `.publishsettings` file. */
import { SaxesParser } from 'saxes';
import { usageError } from '../errors/errors.js';

/** The subscriptions in a `.publishsettings` file (AzureOfflineBackupDiskPrep's `p:`). */
export function parsePublishSettings(text: string, source: string): { id: string; name: string }[] {
  const p = new SaxesParser();
  const subs: { id: string; name: string }[] = [];
  let bad: string | undefined;
  p.on('doctype', () => (bad ??= 'DOCTYPE is not allowed'));
  p.on('error', (e) => (bad ??= e.message));
  p.on('opentag', (t) => {
    if (t.name === 'Subscription') {
      const a = t.attributes as Record<string, string>;
      if (a.Id) subs.push({ id: a.Id, name: a.Name ?? '' });
    }
  });
  p.write(text).close();
  if (bad) throw usageError(`${source} is not a readable .publishsettings file (${bad})`);
  if (subs.length === 0) throw usageError(`${source} names no subscription`);
  return subs;
}
