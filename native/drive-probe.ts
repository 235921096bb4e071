import type { DriveProbe, VolumeInfo } from './interfaces.js';

/** TEMPORARY during the bootstrap commit; replaced in this session. */
export class LinuxDriveProbe implements DriveProbe {
  listVolumes(): Promise<VolumeInfo[]> {
    return Promise.reject(new Error('drive probe being built'));
  }
  volumeOf(_path: string): Promise<VolumeInfo> {
    return Promise.reject(new Error('drive probe being built'));
  }
}
