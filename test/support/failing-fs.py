#!/usr/bin/python3
"""failing-fs.py BACKING MOUNTPOINT FAIL_AFTER_BYTES [--control FILE] [--fail-reads]

A FUSE passthrough of BACKING that works like a drive until FAIL_AFTER_BYTES have been written
through it, then answers EIO to every write, fsync and new file, as a disk dying in the middle of a
copy does. Runs in the foreground until unmounted (umount MOUNTPOINT).

--control FILE  fail as soon as FILE exists, whatever has been written (a test kills the drive on
                command by creating FILE; keep it outside BACKING so the drive does not show it)
--fail-reads    once failing, reads answer EIO too (for files opened after that: the kernel may
                serve a file that is still open from its page cache)

Based on shared/tools/failing-fs.py: the same arguments and behaviour without the options, plus
big_writes (128 KiB FUSE writes instead of 4 KiB ones) and new files opened read-write. A write
that crosses the limit still succeeds; the ones after it fail. Needs fusepy (Debian:
python3-fusepy) and root."""
import errno, os, sys
try:
    from fuse import FUSE, FuseOSError, Operations
except ImportError:  # Debian's python3-fusepy
    from fusepy import FUSE, FuseOSError, Operations

class Failing(Operations):
    def __init__(self, root, limit, control=None, fail_reads=False):
        self.root, self.limit, self.written = root, limit, 0
        self.control, self.fail_reads = control, fail_reads
    def _p(self, path): return os.path.join(self.root, path.lstrip("/"))
    def _failing(self):
        return self.written >= self.limit or (self.control is not None and os.path.exists(self.control))
    def _dead(self):
        if self._failing(): raise FuseOSError(errno.EIO)
    def access(self, path, mode):
        if not os.access(self._p(path), mode): raise FuseOSError(errno.EACCES)
    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        return {k: getattr(st, k) for k in ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")}
    def readdir(self, path, fh): return [".", ".."] + os.listdir(self._p(path))
    def readlink(self, path): return os.readlink(self._p(path))
    def mknod(self, path, mode, dev): self._dead(); os.mknod(self._p(path), mode, dev)
    def mkdir(self, path, mode): self._dead(); os.mkdir(self._p(path), mode)
    def rmdir(self, path): os.rmdir(self._p(path))
    def unlink(self, path): os.unlink(self._p(path))
    def symlink(self, name, target): self._dead(); os.symlink(target, self._p(name))
    def rename(self, old, new): self._dead(); os.rename(self._p(old), self._p(new))
    def link(self, target, name): self._dead(); os.link(self._p(name), self._p(target))
    def chmod(self, path, mode): os.chmod(self._p(path), mode)
    def chown(self, path, uid, gid): os.chown(self._p(path), uid, gid)
    def utimens(self, path, times=None): os.utime(self._p(path), times)
    def truncate(self, path, length, fh=None):
        self._dead()
        with open(self._p(path), "r+") as f: f.truncate(length)
    def statfs(self, path):
        s = os.statvfs(self._p(path))
        return {k: getattr(s, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}
    def open(self, path, flags):
        if self.fail_reads: self._dead()
        return os.open(self._p(path), flags)
    def create(self, path, mode, fi=None):
        self._dead(); return os.open(self._p(path), os.O_RDWR | os.O_CREAT, mode)
    def read(self, path, length, offset, fh):
        if self.fail_reads: self._dead()
        os.lseek(fh, offset, os.SEEK_SET); return os.read(fh, length)
    def write(self, path, buf, offset, fh):
        self._dead()
        os.lseek(fh, offset, os.SEEK_SET); n = os.write(fh, buf); self.written += n; return n
    def flush(self, path, fh): return os.fsync(fh) if not self._failing() else None
    def release(self, path, fh): return os.close(fh)
    def fsync(self, path, datasync, fh): self._dead(); return os.fsync(fh)

def main(argv):
    args, control, fail_reads = [], None, False
    i = 0
    while i < len(argv):
        if argv[i] == "--control": control = argv[i + 1]; i += 2
        elif argv[i] == "--fail-reads": fail_reads = True; i += 1
        else: args.append(argv[i]); i += 1
    if len(args) != 3:
        sys.exit(__doc__)
    backing, mountpoint, limit = args
    FUSE(Failing(backing, int(limit), control, fail_reads), mountpoint, foreground=True, nothreads=True, allow_other=True, big_writes=True)

if __name__ == "__main__":
    main(sys.argv[1:])
