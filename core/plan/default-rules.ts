import type { NamingRules } from '../pipeline/naming-rules.js';
import { checkBitLockerRecoveryPassword } from '../manifest/bitlocker-key.js';
import { checkContainerName, checkJobName, checkStagedPath, SiblingCollisionChecker } from './naming.js';

/** The service's and NTFS's naming rules, as the engine checks them before copying. */
export const serviceNamingRules: NamingRules = {
  jobName: checkJobName,
  containerName: checkContainerName,
  bitlockerKey: checkBitLockerRecoveryPassword,
  check: (rel, blob) => checkStagedPath(rel, blob),
  directory: (rel, names) =>
    new SiblingCollisionChecker().check(names, '').map((c) => ({
      path: rel ? `${rel}/${c.name}` : c.name,
      rule: 'case-collision',
      message: `differs from ${JSON.stringify(c.other)} only in letter case; NTFS would merge them`,
    })),
};
