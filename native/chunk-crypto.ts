/**
 * seedship's at-rest encryption: length-preserving AES-256, so manifest offsets and MD5s refer to
 * the plain stored bytes, as with BitLocker. A data unit (one stored extent, ≤ 4 MiB) uses
 * AES-256-XTS with a 16-byte tweak derived from the blob and the unit's offset in it; XTS needs at
 * least 16 bytes, so shorter units use AES-256-CTR with the same tweak as counter block.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/** The 16-byte tweak of the data unit at `storedOffset` of the blob `tweakSeed` names. */
export function unitTweak(tweakSeed: Uint8Array, storedOffset: number): Buffer {
  const h = createHash('sha256');
  h.update(tweakSeed);
  const off = Buffer.alloc(8);
  off.writeBigUInt64LE(BigInt(storedOffset));
  h.update(off);
  return h.digest().subarray(0, 16);
}

export function encryptUnit(key: Uint8Array, tweak: Buffer, plain: Uint8Array): Buffer {
  const c =
    plain.length >= 16
      ? createCipheriv('aes-256-xts', key, tweak)
      : createCipheriv('aes-256-ctr', key.subarray(0, 32), tweak);
  return Buffer.concat([c.update(plain), c.final()]);
}

export function decryptUnit(key: Uint8Array, tweak: Buffer, cipher: Uint8Array): Buffer {
  const d =
    cipher.length >= 16
      ? createDecipheriv('aes-256-xts', key, tweak)
      : createDecipheriv('aes-256-ctr', key.subarray(0, 32), tweak);
  return Buffer.concat([d.update(cipher), d.final()]);
}

/** MD5, upper-case hex, as the manifest's Hash attributes want it. */
export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex').toUpperCase();
}
