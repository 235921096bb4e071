/**
 * The OS boundary. `core/` sees the machine only through these interfaces (types only); the real
 * implementations are in this folder and are passed in by `cli/` or by tests, which can wrap them
 * with faults (test/support/fault-fs.ts).
 */

/**
 * The type of a file system entry. `fifo`, `socket`, `char` and `block` are special files (named
 * pipes, sockets, character and block devices): recorded and restored, never read.
 */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';

/**
 * What `stat`/`lstat` tell, reduced to what seedship uses. Times are also given in nanoseconds
 * (exact, as the kernel keeps them): a backup restores them to the nanosecond.
 */
export interface FileStat {
  readonly kind: EntryKind;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
  /** Full st_mode: type bits and permission bits (setuid, setgid, sticky included). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  /** Device number of a char or block device (0 otherwise). */
  readonly rdev: number;
  /** 512-byte blocks allocated (less than size / 512 for a sparse file). */
  readonly blocks: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  /** Birth time where the file system keeps one (statx), else 0. */
  readonly birthtimeNs: bigint;
}

/**
 * A name in a directory. Names are JavaScript strings; a byte sequence that is not valid UTF-8 is
 * carried as lone surrogates U+DC80..U+DCFF, one per byte (Python's surrogateescape), so every
 * name a Linux file system can hold round-trips through every FileSystem method exactly.
 */
export interface DirEntry {
  readonly name: string;
  readonly kind: EntryKind;
}

/** Sizes of the file system holding a path, in bytes. */
export interface FsSpace {
  readonly totalBytes: number;
  readonly freeBytes: number; // available to an unprivileged writer (f_bavail)
  readonly blockSize: number;
}

/** An open file. Writes always write the whole buffer. */
export interface FileHandle {
  readonly path: string;
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `into` at `offset`; returns the count (0 at end). */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  /**
   * What was written is durable and will not be read again soon: let the OS drop it from the page
   * cache (posix_fadvise DONTNEED), so a TB-scale copy does not evict everything else. A hint: a
   * no-op where the platform cannot.
   */
  dropCache(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<FileStat>;
  close(): Promise<void>;
}

export type OpenFlags = 'r' | 'r+' | 'w' | 'wx' | 'a' | 'w+';

export interface FileSystem {
  open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle>;
  readdir(path: string): Promise<DirEntry[]>;
  lstat(path: string): Promise<FileStat>;
  /**
   * lstat several paths at once; each answer is a FileStat or the Error for that path. Where
   * metadata is local (a disk file system, tmpfs) the calls may be made synchronously: a
   * thread-pool round trip per file cost a walk of many small files 4× its syscalls.
   */
  lstatMany(paths: readonly string[]): Promise<(FileStat | Error)[]>;
  stat(path: string): Promise<FileStat>;
  statfs(path: string): Promise<FsSpace>;
  realpath(path: string): Promise<string>;
  mkdir(path: string, mode?: number): Promise<void>; // recursive, no error if it exists
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>; // no error if missing
  rmdir(path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** The target of a symbolic link, exactly (non-UTF-8 bytes as in DirEntry names). */
  readlink(path: string): Promise<string>;
  /** Create a symbolic link at `path` pointing to `target` (which need not exist). */
  symlink(target: string, path: string): Promise<void>;
  /** Create a hard link `path` to the existing file `existing`. */
  link(existing: string, path: string): Promise<void>;
  /** Create a special file: a FIFO, a socket inode, or a char/block device `rdev` (mknod). */
  mknod(path: string, kind: 'fifo' | 'socket' | 'char' | 'block', mode: number, rdev: number): Promise<void>;
  /** Change owner and group without following a symbolic link. */
  lchown(path: string, uid: number, gid: number): Promise<void>;
  /** Set access and modification times to the nanosecond, without following a symbolic link. */
  lutimes(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** Undefined if the file does not exist. */
  readFileIfExists(path: string): Promise<Buffer | undefined>;
  exists(path: string): Promise<boolean>;
  /** True if this process may create files in the directory. */
  canWrite(path: string): Promise<boolean>;
  /** temp file in the same dir → write → fsync → close → rename → fsync dir. */
  writeFileAtomic(path: string, data: Uint8Array | string, mode?: number): Promise<void>;
  /** fsync a directory so entries created or renamed in it are durable. */
  fsyncDir(path: string): Promise<void>;
  /**
   * Create (or replace) a file with `data` in one step (open, write, close), not yet synced:
   * for the many small files of a copy, made durable together by `syncFileSystem`.
   */
  writeNewFile(path: string, data: Uint8Array): Promise<void>;
  /**
   * Make everything written to the file system holding `path` durable, directory entries included
   * (Linux syncfs). False when the platform cannot; the caller then syncs file by file.
   */
  syncFileSystem(path: string): Promise<boolean>;
}

/** Time, injected so tests can control it. */
export interface Clock {
  /** Wall clock, ms since the epoch. */
  now(): number;
  /** Monotonic ms for rates and durations. */
  monotonic(): number;
}

/** Facts about this process and host, for the session lock. */
export interface ProcessInfo {
  readonly pid: number;
  readonly hostname: string;
  /**
   * Start time of a process as the kernel reports it (clock ticks since boot), or undefined if none
   * runs with that pid.
   */
  processStartTime(pid: number): Promise<string | undefined>;
}

/** A mounted volume, as `seedship drives` shows it. */
export interface VolumeInfo {
  readonly mountPoint: string;
  readonly device: string; // e.g. /dev/sdb1, tmpfs
  readonly fsType: string; // ext4, ntfs, fuseblk, tmpfs…
  readonly totalBytes: number;
  readonly freeBytes: number;
  readonly readOnly: boolean;
  /** Hardware serial of the disk behind the device (sysfs/udev), if Linux gives one. */
  readonly serial: string | undefined;
  readonly rotational: boolean | undefined;
  readonly removable: boolean | undefined;
  /** Disk model, if known. */
  readonly model: string | undefined;
  /** Bus as udev reports it (ata, usb, nvme, scsi…), if known. */
  readonly bus: string | undefined;
}

export interface DriveProbe {
  /** Every mounted volume. */
  listVolumes(): Promise<VolumeInfo[]>;
  /** The volume holding `path` (the longest mount point that is a prefix of its real path). */
  volumeOf(path: string): Promise<VolumeInfo>;
  /**
   * The storage under `path` as the mount table and sysfs describe it, for `seedship check`. Raw
   * facts only: what they mean for the Import/Export service is decided in core.
   */
  storageOf(path: string): Promise<StorageFacts>;
}

/**
 * One block device under a mounted volume, from sysfs (`/sys/dev/block/MAJ:MIN`, `slaves/`, the
 * partition's parent directory).
 */
export interface BlockLayer {
  /** Kernel name: `sdb1`, `dm-0`, `loop3`, `nvme0n1`. */
  readonly name: string;
  readonly kind: 'disk' | 'partition' | 'dm' | 'loop' | 'md' | 'other';
  /** From `size` (512-byte sectors), if sysfs gives it. */
  readonly sizeBytes: number | undefined;
  /** dm only: `dm/uuid`, e.g. `CRYPT-BITLK-…` (cryptsetup --type bitlk), `CRYPT-LUKS2-…`, `LVM-…`. */
  readonly dmUuid?: string | undefined;
  /** loop only: `loop/backing_file`. */
  readonly backingFile?: string | undefined;
  /** disk only: how it is attached, as lsblk's TRAN column names it (sata, sas, usb, nvme, ata…). */
  readonly transport?: string | undefined;
}

/** A file that holds a volume (a loop device's backing file, a FUSE file system's source file) and its mount. */
export interface BackingFile {
  readonly file: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
}

/** What the OS tells about the storage holding a path. */
export interface StorageFacts {
  /** The real path asked about. */
  readonly path: string;
  /** The mount holding it (mountinfo): mount point, file system type (`fuseblk`, `ntfs3`, `ext4`…), source. */
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  /** Size of the file system (statfs), if it could be read. */
  readonly volumeBytes: number | undefined;
  /**
   * Bytes 3-10 of the volume's first sector, trailing spaces cut (`NTFS` for NTFS), read from the
   * mount source of a FUSE mount (`fuseblk` is any FUSE file system on a block device, not only
   * ntfs-3g); undefined when not read or not readable.
   */
  readonly bootOemId: string | undefined;
  /** Block devices from the mounted one down to the disks (empty without a block device). */
  readonly layers: readonly BlockLayer[];
  /** The file under the volume, when it sits on a loop device or a FUSE mount of a file. */
  readonly backing: BackingFile | undefined;
}

// ---- chunk work done in worker threads -------------------------------------------------------

export type Codec = 'zstd' | 'none';

/** Encryption parameters for one drive: AES-256-XTS (CTR under 16 bytes), tweak from file and offset. */
export interface CipherSpec {
  /** 64 bytes: XTS uses both halves; CTR for short chunks uses the first 32 bytes. */
  readonly key: Uint8Array;
}

/** Read one chunk of a staged file and turn it into stored bytes. */
export interface EncodeTask {
  readonly kind: 'encode';
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  /** Identity of the file when its copy started: a difference means it changed. */
  readonly expect: { readonly size: number; readonly mtimeMs: number; readonly ino: number };
  readonly codec: Codec;
  readonly level: number;
  /** Page blobs: report 512-byte aligned non-zero ranges instead of one block. */
  readonly pages: boolean;
  readonly cipher: CipherSpec | undefined;
  /** Tweak seed for encryption: identifies the blob (16 bytes). */
  readonly tweakSeed: Uint8Array | undefined;
  /** Raw offset of the chunk in the staged file; with each extent's `at`, the data unit's tweak offset. */
  readonly unitOffset: number;
  /**
   * A buffer moved (not copied) to the worker to hold the stored bytes; `stored` of the result is
   * a view of it, so the caller can use it again (a buffer pool). Ignored when too small.
   */
  readonly into?: ArrayBuffer;
  /**
   * Also create this drive file (exclusively, removing a leftover first) holding exactly the
   * stored bytes: small whole files are written by the workers, in parallel, instead of one by one
   * on the main thread. Not yet durable: the caller's next sync covers it.
   */
  readonly writeTo?: string;
  /**
   * With `writeTo`: once that file is written, also create this one (the blob's metadata file)
   * holding `data`; if it cannot be, the data file is removed too and `written` is the errno code.
   */
  readonly writeAlso?: { readonly path: string; readonly data: Uint8Array };
}

/** A stored range inside an encoded chunk (page blobs may have several, block blobs exactly one). */
export interface StoredExtent {
  /** Offset inside `stored`. */
  readonly at: number;
  readonly length: number;
  /** MD5 of the (plain) stored bytes, upper-case hex. */
  readonly md5: string;
}

export type EncodeResult =
  | {
      readonly ok: true;
      /**
       * Bytes to write (encrypted when a cipher was given). For pages, the whole chunk (zero runs left
       * unwritten by the writer).
       */
      readonly stored: Uint8Array;
      readonly rawLength: number;
      /** XXH64 of the raw bytes, 16 lower-case hex digits. */
      readonly xxh64: string;
      readonly extents: readonly StoredExtent[];
      /** With `writeTo`: the file was written (true), or it could not be and nothing is left there (its errno code). */
      readonly written?: true | string;
    }
  | {
      readonly ok: false;
      readonly reason: 'changed' | 'unreadable';
      readonly message: string;
      readonly errno?: string;
    };

/**
 * Read stored bytes from a drive and check them; optionally undo encryption and codec. The range
 * [offset, offset+length) of the file holds one chunk; `units` are its stored ranges (relative to
 * `offset`) with their MD5s: one for a block, the non-zero runs for a page-blob chunk (the rest reads
 * as zeros).
 */
export interface DecodeTask {
  readonly kind: 'decode';
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly units: readonly { readonly at: number; readonly length: number; readonly md5: string | undefined }[];
  readonly cipher: CipherSpec | undefined;
  readonly tweakSeed: Uint8Array | undefined;
  /** Tweak offset of the chunk (its raw offset); a unit's tweak offset is this plus its `at`. */
  readonly unitOffset: number;
  /** When set: decompress (zstd) or pass through, and check XXH64 of the raw bytes. */
  readonly raw: { readonly codec: Codec; readonly xxh64: string | undefined; readonly rawLength: number } | undefined;
  /** Return the raw bytes (restore) instead of only checking them (verify). */
  readonly returnRaw: boolean;
}

export type DecodeResult =
  | { readonly ok: true; readonly raw: Uint8Array | undefined }
  | {
      readonly ok: false;
      readonly reason: 'md5' | 'xxh64' | 'codec' | 'short' | 'io';
      readonly message: string;
      /** Index of the failing unit, for MD5 mismatches. */
      readonly unit?: number;
      readonly actual?: string;
    };

/** The worker pool, as core sees it. `run` waits for capacity instead of rejecting. */
export interface ChunkProcessor {
  readonly threads: number;
  encode(task: EncodeTask, signal?: AbortSignal): Promise<EncodeResult>;
  /**
   * Encode several chunks in one worker task, their MD5s side by side in SIMD lanes; results in the
   * order of `tasks`.
   */
  encodeMany(tasks: readonly EncodeTask[], signal?: AbortSignal): Promise<EncodeResult[]>;
  decode(task: DecodeTask, signal?: AbortSignal): Promise<DecodeResult>;
  close(): Promise<void>;
}

/**
 * Streaming zstd decompression of one stream of frames laid back to back (a `.zst` blob), fed in
 * pieces cut anywhere, frame boundaries included. Memory stays bounded whatever the stream's size:
 * the output buffer plus the frame window (at most 4 MiB for seedship's frames).
 */
export interface ZstdStreamDecoder {
  /**
   * Decompress `input`, the next piece of the stream. Yields the output in pieces of at most
   * `outBytes`, each a view of a buffer the decoder reuses: finish with a piece (await its write)
   * before asking for the next. Throws on input that is not zstd.
   */
  decode(input: Uint8Array): Generator<Uint8Array, void, undefined>;
  /** True when the input so far ends on a frame boundary (false: the stream stops inside a frame). */
  readonly atFrameEnd: boolean;
  /** Give the native context back for reuse; the decoder must not be used after. Idempotent. */
  close(): void;
}

/** In-thread codec and hashing, for small work on the main thread (plan samples, restore checks). */
export interface CodecKit {
  compress(data: Uint8Array, level: number): Uint8Array;
  decompress(data: Uint8Array): Uint8Array;
  /** A streaming zstd decoder yielding at most `outBytes` per piece (default 1 MiB). */
  createZstdDecoder(outBytes?: number): ZstdStreamDecoder;
  xxh64(data: Uint8Array): string;
  md5(data: Uint8Array): string;
  /**
   * `md5` of each buffer, in order, hashed side by side in SIMD lanes where the native addon is
   * built (native/md5-many.ts). Optional: a kit without it is used through `md5`.
   */
  md5Many?(data: readonly Uint8Array[]): string[];
  /** Encrypt or decrypt one data unit (AES-256-XTS, CTR under 16 bytes); returns new bytes. */
  encryptUnit(key: Uint8Array, tweakSeed: Uint8Array, unitOffset: number, data: Uint8Array): Uint8Array;
  decryptUnit(key: Uint8Array, tweakSeed: Uint8Array, unitOffset: number, data: Uint8Array): Uint8Array;
}

/** Everything native a command may need. */
export interface NativeDeps {
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly proc: ProcessInfo;
  readonly drives: DriveProbe;
  /** Create a worker pool with `threads` workers. */
  createChunkProcessor(threads: number): ChunkProcessor;
  /** Create an in-thread codec kit (xxhash-wasm needs async set-up). */
  createCodecKit(): Promise<CodecKit>;
  /** Number of CPU cores available to this process. */
  readonly cores: number;
  /** Random bytes (keys, ids). */
  randomBytes(n: number): Uint8Array;
}
