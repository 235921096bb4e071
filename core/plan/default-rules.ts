/** The service's naming rules, as the engine's injected NamingRules. */
import type { NamingRules } from '../staging/naming-rules.js';
import { checkBitLockerRecoveryPassword } from '../manifest/bitlocker-key.js';
import { checkContainerName, checkJobName } from '../manifest/naming.js';

/** The service's naming rules for the names a user types. */
export const serviceNamingRules: NamingRules = {
  jobName: checkJobName,
  containerName: checkContainerName,
  bitlockerKey: checkBitLockerRecoveryPassword,
};
