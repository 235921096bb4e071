// TEMPORARY placeholder until the naming branch lands (same API).
export function checkBitLockerRecoveryPassword(text: string): string | undefined {
  return /^\d{6}(-\d{6}){7}$/.test(text) ? undefined : 'a BitLocker numerical password is 8 groups of 6 digits separated by -';
}
