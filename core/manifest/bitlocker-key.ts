/**
 * BitLocker numerical passwords (recovery passwords): 48 digits in 8 groups of 6. Each group is a
 * 16-bit value times 11, so it divides by 11 and is below 720,896 (65,536 × 11): a typo is caught
 * here rather than at the data center (BitLockerKeyInvalid).
 */

/** The password with dashes, or undefined if it does not have 48 digits. */
export function normalizeBitLockerKey(text: string): string | undefined {
  const digits = text.replace(/[\s-]/g, '');
  if (!/^\d{48}$/.test(digits)) return undefined;
  return digits.match(/\d{6}/g)!.join('-');
}

/** Why `text` is not a valid numerical password, or undefined. */
export function checkBitLockerRecoveryPassword(text: string): string | undefined {
  const n = normalizeBitLockerKey(text);
  if (!n) return 'a BitLocker numerical password is 48 digits in 8 groups of 6 (123456-123456-…)';
  const groups = n.split('-');
  for (let i = 0; i < groups.length; i++) {
    const g = Number(groups[i]);
    if (g % 11 !== 0 || g >= 720_896)
      return (
        `group ${i + 1} (${groups[i]}) is not a valid BitLocker group ` +
        `(each is a multiple of 11 below 720896): check for a typo`
      );
  }
  return undefined;
}
