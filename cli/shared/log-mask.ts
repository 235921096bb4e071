/**
 * Keeps secrets out of the run log: the values of options named like a secret, SAS signatures,
 * the keys inside connection strings, BitLocker recovery passwords and bearer tokens, wherever
 * they appear (argv, parsed options, messages). What is masked becomes `***`.
 */

export const MASK = '***';

/** An option or field whose whole value is a secret (--bitlocker-key, --container-sas, clientSecret, …). */
const SECRET_NAME = /key|secret|passw|token|sas|signature|credential/i;

/**
 * Secrets inside a larger value: a SAS's `sig=`, a connection string's keys and SAS, a BitLocker
 * recovery password (8 groups of 6 digits), an `Authorization: Bearer` token.
 */
const SECRET_PARTS: readonly [RegExp, string][] = [
  [/\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd|ClientSecret)=[^;\s"']*/gi, `$1=${MASK}`],
  [/\bsig=[^&;\s"']*/gi, `sig=${MASK}`],
  [/\b\d{6}(?:-\d{6}){7}\b/g, MASK],
  [/\bBearer\s+[\w.~+/-]+=*/gi, `Bearer ${MASK}`],
];

/** Shorter "secrets" are not replaced inside other text: they would blank unrelated digits and words. */
const MIN_SECRET_CHARS = 6;

/** Masks argv and everything written after it, remembering the secret values argv held. */
export class SecretMasker {
  readonly #secrets = new Set<string>();

  /** argv with secret option values masked; their values are then masked in any later text too. */
  maskArgv(argv: readonly string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      const eq = /^(--?[^=]+)=(.*)$/s.exec(arg);
      if (eq && SECRET_NAME.test(eq[1]!)) {
        this.#remember(eq[2]!);
        out.push(`${eq[1]}=${MASK}`);
        continue;
      }
      out.push(this.maskText(arg));
      const next = argv[i + 1];
      if (/^--?[a-z]/i.test(arg) && SECRET_NAME.test(arg) && next !== undefined && !next.startsWith('-')) {
        this.#remember(next);
        out.push(MASK);
        i++;
      }
    }
    return out;
  }

  /** `text` with every known secret and every secret-looking part masked. */
  maskText(text: string): string {
    let s = text;
    for (const secret of this.#secrets) if (s.includes(secret)) s = s.split(secret).join(MASK);
    for (const [re, to] of SECRET_PARTS) s = s.replace(re, to);
    return s;
  }

  /** A copy of `value` fit for the log: fields named like a secret masked, every string scrubbed. */
  maskValue(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.maskText(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > 8) return '[nested too deep]';
    if (Array.isArray(value)) return value.map((v) => this.maskValue(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const text = typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
      const secret = text && SECRET_NAME.test(k);
      out[k] = secret ? MASK : this.maskValue(v, depth + 1);
    }
    return out;
  }

  #remember(value: string): void {
    for (const part of value.split(',')) if (part.length >= MIN_SECRET_CHARS) this.#secrets.add(part);
    if (value.length >= MIN_SECRET_CHARS) this.#secrets.add(value);
  }
}
