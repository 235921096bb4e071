// seedship_native: the Linux file calls Node has no binding for (syncfs, fallocate, posix_fadvise,
// O_DIRECT writes from buffers of any alignment, utimensat to the nanosecond, mknod). Plain N-API (C API), so one build works for every
// Node version with N-API 8. Every call runs on libuv's thread pool through napi_async_work and
// returns a Promise; failures reject with an Error carrying `code` (errno name), `errno` (negative,
// like Node's fs errors) and `syscall`. The typed face is native/os-extras.ts.
// Also multi-buffer MD5 (md5_many.cc) and XXH64 (xxh64.cc), synchronous: they are called from the
// chunk workers, whose thread is there to do exactly that work. Typed face: native/md5-many.ts.

#include <node_api.h>

#include "md5_many.h"
#include "xxh64.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <initializer_list>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

namespace {

// 4096 covers every logical block size seen on disks (512 and 4Kn) and the page size, so one
// constant is right for every device without asking the kernel (statx STATX_DIOALIGN is 6.1+).
constexpr size_t kAlign = 4096;
constexpr size_t kPoolIdleMax = 4;
constexpr size_t kPoolKeepMaxBytes = 16u << 20;
constexpr double kMaxSafeInteger = 9007199254740991.0;
constexpr int64_t kNsPerS = 1000000000;

const char* ErrnoName(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EPIPE: return "EPIPE";
    case ENOSYS: return "ENOSYS";
    // Same value as ENOTSUP on Linux; fallocate documents it under this name.
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EOVERFLOW: return "EOVERFLOW";
    case EDQUOT: return "EDQUOT";
    case ESTALE: return "ESTALE";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED";
    case ENOLINK: return "ENOLINK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case ENOTEMPTY: return "ENOTEMPTY";
    default: return nullptr;
  }
}

// ---- errors ---------------------------------------------------------------------------------

napi_value ErrnoError(napi_env env, int err, const char* syscall) {
  const char* name = ErrnoName(err);
  std::string code = name ? name : "ERRNO_" + std::to_string(err);
  // Same shape as Node's fs errors: "ENOSPC: No space left on device, fallocate".
  std::string message = code + ": " + strerror(err) + ", " + syscall;
  napi_value code_v, message_v, error, errno_v, syscall_v;
  napi_create_string_utf8(env, code.c_str(), NAPI_AUTO_LENGTH, &code_v);
  napi_create_string_utf8(env, message.c_str(), NAPI_AUTO_LENGTH, &message_v);
  napi_create_error(env, code_v, message_v, &error);
  napi_create_int32(env, -err, &errno_v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  return error;
}

// Throws unless an exception is already pending (N-API calls fail with one pending).
void ThrowIfNotPending(napi_env env, const char* what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  std::string message = std::string(what) + " failed: " +
                        (info && info->error_message ? info->error_message : "unknown N-API error");
  napi_throw_error(env, "ERR_SEEDSHIP_NATIVE", message.c_str());
}

#define NAPI_CALL(env, call)                 \
  do {                                       \
    if ((call) != napi_ok) {                 \
      ThrowIfNotPending((env), #call);       \
      return nullptr;                        \
    }                                        \
  } while (0)

// ---- argument checks (Node's ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE conventions) --------------

bool GetInteger(napi_env env, napi_value v, const char* name, double min, double max, int64_t* out) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (type != napi_number) {
    std::string m = std::string("The \"") + name + "\" argument must be of type number";
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", m.c_str());
    return false;
  }
  double d = 0;
  napi_get_value_double(env, v, &d);
  if (!(d >= min && d <= max) || std::trunc(d) != d) {
    std::string m = std::string("The value of \"") + name + "\" is out of range. It must be an integer >= " +
                    std::to_string(static_cast<int64_t>(min)) + " and <= " + std::to_string(static_cast<int64_t>(max));
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", m.c_str());
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool GetFd(napi_env env, napi_value v, const char* name, int* out) {
  int64_t fd = 0;
  if (!GetInteger(env, v, name, 0, 2147483647.0, &fd)) return false;
  *out = static_cast<int>(fd);
  return true;
}

bool GetArgs(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) {
    ThrowIfNotPending(env, "napi_get_cb_info");
    return false;
  }
  // Missing arguments arrive as undefined and fail the type checks with a clear message.
  return true;
}

// A path as bytes (a Buffer or Uint8Array), so a name that is not UTF-8 arrives exactly; the JS side
// turns its strings into bytes (native/raw-names.ts). Embedded NULs are refused, as Node does.
bool GetPath(napi_env env, napi_value v, const char* name, std::string* out) {
  bool is_typedarray = false;
  napi_is_typedarray(env, v, &is_typedarray);
  napi_typedarray_type type = napi_int8_array;
  size_t size = 0;
  void* data = nullptr;
  if (is_typedarray && napi_get_typedarray_info(env, v, &type, &size, &data, nullptr, nullptr) != napi_ok) {
    ThrowIfNotPending(env, "napi_get_typedarray_info");
    return false;
  }
  if (!is_typedarray || type != napi_uint8_array) {
    std::string m = std::string("The \"") + name + "\" argument must be a Buffer or Uint8Array";
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", m.c_str());
    return false;
  }
  out->assign(static_cast<const char*>(data), size);
  if (out->find('\0') != std::string::npos) {
    std::string m = std::string("The \"") + name + "\" argument must not contain null bytes";
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", m.c_str());
    return false;
  }
  return true;
}

// A time as BigInt nanoseconds since the epoch (negative before 1970) into a timespec: tv_sec is
// the floor, tv_nsec in [0, 1e9), as the kernel wants (-1 ns is tv_sec -1, tv_nsec 999999999).
// Up to 128 bits are read: a year past 2262 overflows int64 nanoseconds but not time_t seconds.
bool GetTimeNs(napi_env env, napi_value v, const char* name, struct timespec* out) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (type != napi_bigint) {
    std::string m = std::string("The \"") + name + "\" argument must be of type bigint";
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", m.c_str());
    return false;
  }
  int sign = 0;
  size_t count = 0;
  if (napi_get_value_bigint_words(env, v, nullptr, &count, nullptr) != napi_ok) {
    ThrowIfNotPending(env, "napi_get_value_bigint_words");
    return false;
  }
  uint64_t words[2] = {0, 0};
  bool fits = count <= 2;
  if (fits) {
    count = 2;
    if (napi_get_value_bigint_words(env, v, &sign, &count, words) != napi_ok) {
      ThrowIfNotPending(env, "napi_get_value_bigint_words");
      return false;
    }
  }
  __int128 sec = 0;
  int64_t nsec = 0;
  if (fits && (words[1] >> 63) == 0) {
    __int128 ns = (static_cast<__int128>(words[1]) << 64) | words[0];
    if (sign) ns = -ns;
    sec = ns / kNsPerS;
    nsec = static_cast<int64_t>(ns % kNsPerS);
    if (nsec < 0) {
      sec -= 1;
      nsec += kNsPerS;
    }
    fits = sec >= std::numeric_limits<time_t>::min() && sec <= std::numeric_limits<time_t>::max();
  }
  if (!fits) {
    std::string m = std::string("The value of \"") + name + "\" is out of range. It must fit time_t seconds";
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", m.c_str());
    return false;
  }
  out->tv_sec = static_cast<time_t>(sec);
  out->tv_nsec = static_cast<long>(nsec);
  return true;
}

// ---- bounce buffers for O_DIRECT ------------------------------------------------------------

struct Bounce {
  void* ptr = nullptr;
  size_t cap = 0;
};

// A few aligned buffers kept between writes, so a steady stream of 4 MiB chunks allocates none.
// Shared by all threads of the pool (and all Node environments, workers included) under a mutex;
// deliberately never freed, because async work may still be running while an environment exits.
class BouncePool {
 public:
  BouncePool() { idle_.reserve(kPoolIdleMax); }

  int Acquire(size_t size, Bounce* out) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < idle_.size(); ++i) {
        if (idle_[i].cap >= size) {
          *out = idle_[i];
          idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
          return 0;
        }
      }
    }
    void* p = nullptr;
    int r = posix_memalign(&p, kAlign, size);
    if (r != 0) return r;
    out->ptr = p;
    out->cap = size;
    return 0;
  }

  void Release(Bounce b) {
    if (b.cap <= kPoolKeepMaxBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      if (idle_.size() < kPoolIdleMax) {
        idle_.push_back(b);
        return;
      }
      // Full: keep the larger buffer, so a pool of small ones cannot shut out big chunks.
      size_t smallest = 0;
      for (size_t i = 1; i < idle_.size(); ++i)
        if (idle_[i].cap < idle_[smallest].cap) smallest = i;
      if (idle_[smallest].cap < b.cap) std::swap(idle_[smallest], b);
    }
    free(b.ptr);
  }

 private:
  std::mutex mu_;
  std::vector<Bounce> idle_;
};

BouncePool& Pool() {
  static BouncePool* pool = new BouncePool();
  return *pool;
}

// ---- the calls ------------------------------------------------------------------------------

enum class Op { kSyncfs, kFallocate, kFadvise, kPwriteDirect, kUtimensat, kMknod };

struct Call {
  Op op;
  const char* syscall;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
  napi_ref buffer_ref = nullptr;
  int fd = -1;
  int tail_fd = -1;
  int64_t offset = 0;  // fallocate/fadvise offset, pwrite position
  int64_t length = 0;
  int mode = 0;  // fallocate mode or fadvise advice
  const uint8_t* data = nullptr;
  size_t size = 0;
  int err = 0;
  int64_t done = 0;
  std::string path{};            // utimensat, mknod: NUL-terminated bytes, owned by the call
  struct timespec times[2] = {};  // utimensat: atime, mtime
  mode_t node_mode = 0;          // mknod: type bits | permission bits
  dev_t rdev = 0;                // mknod: device number as st_rdev gives it
};

int WriteAll(int fd, const uint8_t* p, size_t n, int64_t pos, int64_t* done) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = pwrite(fd, p + off, n - off, static_cast<off_t>(pos + static_cast<int64_t>(off)));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return EIO;
    off += static_cast<size_t>(r);
    *done += r;
  }
  return 0;
}

int WriteDirect(Call* c) {
  size_t aligned = c->size & ~(kAlign - 1);
  if (aligned > 0) {
    Bounce b;
    int r = Pool().Acquire(aligned, &b);
    if (r != 0) return r;
    // Copied here, on the pool thread, so the main thread never pays for the memcpy.
    memcpy(b.ptr, c->data, aligned);
    const uint8_t* p = static_cast<const uint8_t*>(b.ptr);
    size_t off = 0;
    while (off < aligned && off % kAlign == 0) {
      ssize_t n = pwrite(c->fd, p + off, aligned - off, static_cast<off_t>(c->offset + static_cast<int64_t>(off)));
      if (n < 0) {
        if (errno == EINTR) continue;
        r = errno;
        break;
      }
      if (n == 0) {
        r = EIO;
        break;
      }
      off += static_cast<size_t>(n);
      c->done += n;
    }
    // A short direct write that stopped mid-block (not seen on ext4, which stops at block
    // boundaries) cannot continue with O_DIRECT: finish through the buffered fd, or fail.
    if (r == 0 && off < aligned) {
      r = c->tail_fd >= 0 ? WriteAll(c->tail_fd, p + off, aligned - off, c->offset + static_cast<int64_t>(off), &c->done) : EIO;
    }
    Pool().Release(b);
    if (r != 0) return r;
  }
  if (aligned < c->size) return WriteAll(c->tail_fd, c->data + aligned, c->size - aligned, c->offset + static_cast<int64_t>(aligned), &c->done);
  return 0;
}

// mknod, then chmod: mknod applies the umask, and a restore wants the permission bits exactly
// (setuid, setgid and sticky included), as `mkfifo -m`/`mknod -m` of the fallback give them. The
// new node is not a symbolic link, so chmod cannot follow one.
int MakeNode(Call* c) {
  if (mknod(c->path.c_str(), c->node_mode, c->rdev) != 0) return errno;
  if (chmod(c->path.c_str(), c->node_mode & 07777) != 0) {
    c->syscall = "chmod";
    return errno;
  }
  return 0;
}

void Execute(napi_env /*env*/, void* data) {
  Call* c = static_cast<Call*>(data);
  switch (c->op) {
    case Op::kSyncfs:
      if (syncfs(c->fd) != 0) c->err = errno;
      break;
    case Op::kFallocate:
      while (fallocate(c->fd, c->mode, c->offset, c->length) != 0) {
        if (errno != EINTR) {
          c->err = errno;
          break;
        }
      }
      break;
    case Op::kFadvise:
      // posix_fadvise returns the error number instead of setting errno.
      c->err = posix_fadvise(c->fd, c->offset, c->length, c->mode);
      break;
    case Op::kPwriteDirect:
      c->err = WriteDirect(c);
      break;
    case Op::kUtimensat:
      if (utimensat(AT_FDCWD, c->path.c_str(), c->times, AT_SYMLINK_NOFOLLOW) != 0) c->err = errno;
      break;
    case Op::kMknod:
      c->err = MakeNode(c);
      break;
  }
}

void Complete(napi_env env, napi_status status, void* data) {
  Call* c = static_cast<Call*>(data);
  if (status == napi_cancelled) c->err = ECANCELED;
  if (c->err == 0) {
    napi_value result;
    if (c->op == Op::kPwriteDirect)
      napi_create_int64(env, c->done, &result);
    else
      napi_get_undefined(env, &result);
    napi_resolve_deferred(env, c->deferred, result);
  } else {
    napi_value error = ErrnoError(env, c->err, c->syscall);
    if (c->op == Op::kPwriteDirect) {
      napi_value done;
      napi_create_int64(env, c->done, &done);
      napi_set_named_property(env, error, "bytesWritten", done);
    }
    napi_reject_deferred(env, c->deferred, error);
  }
  if (c->buffer_ref) napi_delete_reference(env, c->buffer_ref);
  napi_delete_async_work(env, c->work);
  delete c;
}

// Takes ownership of `c`: queues it, or frees it and leaves an exception pending.
napi_value Queue(napi_env env, Call* c) {
  napi_value promise, name;
  if (napi_create_promise(env, &c->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, c->syscall, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, Execute, Complete, c, &c->work) != napi_ok ||
      napi_queue_async_work(env, c->work) != napi_ok) {
    ThrowIfNotPending(env, "queueing async work");
    if (c->work) napi_delete_async_work(env, c->work);
    if (c->buffer_ref) napi_delete_reference(env, c->buffer_ref);
    delete c;
    return nullptr;
  }
  return promise;
}

// A rejected promise for an error the kernel would give anyway (EINVAL for misaligned O_DIRECT).
napi_value RejectNow(napi_env env, int err, const char* syscall) {
  napi_deferred deferred;
  napi_value promise;
  NAPI_CALL(env, napi_create_promise(env, &deferred, &promise));
  NAPI_CALL(env, napi_reject_deferred(env, deferred, ErrnoError(env, err, syscall)));
  return promise;
}

// The (fd, offset, length, …) arguments of fallocate and fadvise: four read into argv.
bool GetFdRange(napi_env env, napi_callback_info info, napi_value* argv, int* fd, int64_t* offset, int64_t* length) {
  return GetArgs(env, info, 4, argv) && GetFd(env, argv[0], "fd", fd) &&
         GetInteger(env, argv[1], "offset", 0, kMaxSafeInteger, offset) &&
         GetInteger(env, argv[2], "length", 0, kMaxSafeInteger, length);
}

// syncfs(fd)
napi_value Syncfs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!GetArgs(env, info, 1, argv) || !GetFd(env, argv[0], "fd", &fd)) return nullptr;
  Call* c = new Call{Op::kSyncfs, "syncfs"};
  c->fd = fd;
  return Queue(env, c);
}

// fallocate(fd, offset, length, keepSize)
napi_value Fallocate(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int fd;
  int64_t offset, length;
  if (!GetFdRange(env, info, argv, &fd, &offset, &length)) return nullptr;
  bool keep = false;
  if (napi_get_value_bool(env, argv[3], &keep) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"keepSize\" argument must be of type boolean");
    return nullptr;
  }
  Call* c = new Call{Op::kFallocate, "fallocate"};
  c->fd = fd;
  c->offset = offset;
  c->length = length;
  c->mode = keep ? FALLOC_FL_KEEP_SIZE : 0;
  return Queue(env, c);
}

// fadvise(fd, offset, length, advice)
napi_value Fadvise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int fd;
  int64_t offset, length;
  if (!GetFdRange(env, info, argv, &fd, &offset, &length)) return nullptr;
  char advice[16] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[3], advice, sizeof advice, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"advice\" argument must be of type string");
    return nullptr;
  }
  int mode;
  if (strcmp(advice, "dontneed") == 0)
    mode = POSIX_FADV_DONTNEED;
  else if (strcmp(advice, "sequential") == 0)
    mode = POSIX_FADV_SEQUENTIAL;
  else if (strcmp(advice, "noreuse") == 0)
    mode = POSIX_FADV_NOREUSE;
  else {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "The \"advice\" argument must be 'dontneed', 'sequential' or 'noreuse'");
    return nullptr;
  }
  Call* c = new Call{Op::kFadvise, "posix_fadvise"};
  c->fd = fd;
  c->offset = offset;
  c->length = length;
  c->mode = mode;
  return Queue(env, c);
}

// pwriteDirect(fd, buffer, position, tailFd) -> bytes written. `fd` is opened with O_DIRECT; the
// unaligned tail (only allowed at the end of the file) goes through `tailFd`, a second, buffered
// fd on the same file (-1/undefined when there is none). A second fd instead of toggling O_DIRECT
// with fcntl(F_SETFL): file status flags belong to the shared open file description, so a toggle
// would race with any other write in flight on the same fd.
napi_value PwriteDirect(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int fd;
  int64_t position;
  if (!GetArgs(env, info, 4, argv) || !GetFd(env, argv[0], "fd", &fd)) return nullptr;
  bool is_typedarray = false;
  napi_is_typedarray(env, argv[1], &is_typedarray);
  napi_typedarray_type type = napi_int8_array;
  size_t size = 0;
  void* data = nullptr;
  if (is_typedarray) NAPI_CALL(env, napi_get_typedarray_info(env, argv[1], &type, &size, &data, nullptr, nullptr));
  if (!is_typedarray || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"buffer\" argument must be a Buffer or Uint8Array");
    return nullptr;
  }
  if (!GetInteger(env, argv[2], "position", 0, kMaxSafeInteger, &position)) return nullptr;
  int tail_fd = -1;
  napi_valuetype tail_type;
  napi_typeof(env, argv[3], &tail_type);
  if (tail_type != napi_undefined && tail_type != napi_null && !GetFd(env, argv[3], "tailFd", &tail_fd)) return nullptr;

  if (position % static_cast<int64_t>(kAlign) != 0) return RejectNow(env, EINVAL, "pwrite");
  if (size % kAlign != 0 && tail_fd < 0) return RejectNow(env, EINVAL, "pwrite");

  Call* c = new Call{Op::kPwriteDirect, "pwrite"};
  c->fd = fd;
  c->tail_fd = tail_fd;
  c->offset = position;
  c->data = static_cast<const uint8_t*>(data);
  c->size = size;
  // Keeps the caller's buffer (and so `data`) alive until the pool thread has copied it.
  if (napi_create_reference(env, argv[1], 1, &c->buffer_ref) != napi_ok) {
    delete c;
    ThrowIfNotPending(env, "napi_create_reference");
    return nullptr;
  }
  return Queue(env, c);
}

// utimensat(path, atimeNs, mtimeNs): access and modification times of `path` itself (a symbolic
// link is not followed) to the nanosecond. `path` is a Buffer; the times are BigInt nanoseconds.
napi_value Utimensat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  std::string path;
  struct timespec times[2];
  if (!GetArgs(env, info, 3, argv) || !GetPath(env, argv[0], "path", &path) ||
      !GetTimeNs(env, argv[1], "atimeNs", &times[0]) || !GetTimeNs(env, argv[2], "mtimeNs", &times[1]))
    return nullptr;
  Call* c = new Call{Op::kUtimensat, "utimensat"};
  c->path = std::move(path);
  c->times[0] = times[0];
  c->times[1] = times[1];
  return Queue(env, c);
}

// mknod(path, kind, mode, rdev): a FIFO, socket inode, or char/block device `rdev` (dev_t as
// Linux encodes it, what st_rdev reports), with permission bits exactly `mode` (see MakeNode).
napi_value Mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  std::string path;
  int64_t mode, rdev;
  if (!GetArgs(env, info, 4, argv) || !GetPath(env, argv[0], "path", &path)) return nullptr;
  char kind[8] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], kind, sizeof kind, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"kind\" argument must be of type string");
    return nullptr;
  }
  mode_t type;
  if (strcmp(kind, "fifo") == 0)
    type = S_IFIFO;
  else if (strcmp(kind, "socket") == 0)
    type = S_IFSOCK;
  else if (strcmp(kind, "char") == 0)
    type = S_IFCHR;
  else if (strcmp(kind, "block") == 0)
    type = S_IFBLK;
  else {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "The \"kind\" argument must be 'fifo', 'socket', 'char' or 'block'");
    return nullptr;
  }
  if (!GetInteger(env, argv[2], "mode", 0, 07777, &mode) || !GetInteger(env, argv[3], "rdev", 0, kMaxSafeInteger, &rdev))
    return nullptr;
  Call* c = new Call{Op::kMknod, "mknod"};
  c->path = std::move(path);
  c->node_mode = type | static_cast<mode_t>(mode);
  // Only devices have a number; the kernel ignores it for the others, but 0 is what they report.
  c->rdev = type == S_IFCHR || type == S_IFBLK ? static_cast<dev_t>(rdev) : 0;
  return Queue(env, c);
}

// md5Many(buffers, isa?) -> Uint8Array[]: the 16-byte MD5 of each Uint8Array of `buffers`, views
// into one ArrayBuffer. `isa` ("scalar", "avx2", "avx512") forces a kernel, for tests and the
// benchmark; without it the fastest one this CPU supports is used.
napi_value Md5ManyJs(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  bool is_array = false;
  if (argc >= 1) NAPI_CALL(env, napi_is_array(env, argv[0], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"buffers\" argument must be an array of Uint8Array");
    return nullptr;
  }
  seedship::Md5Isa isa = seedship::Md5BestIsa();
  napi_valuetype isa_type = napi_undefined;
  if (argc >= 2) NAPI_CALL(env, napi_typeof(env, argv[1], &isa_type));
  if (isa_type != napi_undefined) {
    char name[16] = {0};
    size_t len = 0;
    if (isa_type != napi_string || napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok ||
        !seedship::Md5IsaFromName(name, &isa)) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "The \"isa\" argument must be 'scalar', 'avx2' or 'avx512'");
      return nullptr;
    }
    if (!seedship::Md5IsaSupported(isa)) {
      std::string m = std::string("MD5 kernel ") + name + " is not supported by this CPU";
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", m.c_str());
      return nullptr;
    }
  }
  uint32_t n = 0;
  NAPI_CALL(env, napi_get_array_length(env, argv[0], &n));
  std::vector<const uint8_t*> data(n);
  std::vector<size_t> lens(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value v;
    NAPI_CALL(env, napi_get_element(env, argv[0], i, &v));
    bool is_typedarray = false;
    NAPI_CALL(env, napi_is_typedarray(env, v, &is_typedarray));
    napi_typedarray_type type = napi_int8_array;
    void* p = nullptr;
    if (is_typedarray) NAPI_CALL(env, napi_get_typedarray_info(env, v, &type, &lens[i], &p, nullptr, nullptr));
    if (!is_typedarray || type != napi_uint8_array) {
      std::string m = "The \"buffers[" + std::to_string(i) + "]\" argument must be a Buffer or Uint8Array";
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", m.c_str());
      return nullptr;
    }
    data[i] = static_cast<const uint8_t*>(p);
  }
  void* out = nullptr;
  napi_value digests, result;
  NAPI_CALL(env, napi_create_arraybuffer(env, 16 * static_cast<size_t>(n), &out, &digests));
  // No JavaScript runs until this returns, so the buffers cannot be detached or collected meanwhile.
  seedship::Md5Many(isa, data.data(), lens.data(), n, static_cast<uint8_t*>(out));
  NAPI_CALL(env, napi_create_array_with_length(env, n, &result));
  for (uint32_t i = 0; i < n; ++i) {
    napi_value view;
    NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, 16, digests, 16 * static_cast<size_t>(i), &view));
    NAPI_CALL(env, napi_set_element(env, result, i, view));
  }
  return result;
}

// xxh64Hex(data) -> string: XXH64 (seed 0) of a Uint8Array as 16 lower-case hex digits, the form
// seedship stores (xxhash-wasm's h64Raw(data).toString(16) padded).
napi_value Xxh64HexJs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  bool is_typedarray = false;
  if (argc >= 1) NAPI_CALL(env, napi_is_typedarray(env, argv[0], &is_typedarray));
  napi_typedarray_type type = napi_int8_array;
  size_t len = 0;
  void* p = nullptr;
  if (is_typedarray) NAPI_CALL(env, napi_get_typedarray_info(env, argv[0], &type, &len, &p, nullptr, nullptr));
  if (!is_typedarray || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"data\" argument must be a Buffer or Uint8Array");
    return nullptr;
  }
  const uint64_t h = seedship::Xxh64(static_cast<const uint8_t*>(p), len, 0);
  static const char kHex[] = "0123456789abcdef";
  char hex[16];
  for (int i = 0; i < 16; ++i) hex[i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  napi_value result;
  NAPI_CALL(env, napi_create_string_latin1(env, hex, 16, &result));
  return result;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value alignment, md5_isa, md5_isas;
  NAPI_CALL(env, napi_create_uint32(env, static_cast<uint32_t>(kAlign), &alignment));
  NAPI_CALL(env, napi_create_string_utf8(env, seedship::Md5IsaName(seedship::Md5BestIsa()), NAPI_AUTO_LENGTH, &md5_isa));
  NAPI_CALL(env, napi_create_array(env, &md5_isas));
  uint32_t supported = 0;
  for (seedship::Md5Isa isa : {seedship::Md5Isa::kScalar, seedship::Md5Isa::kAvx2, seedship::Md5Isa::kAvx512}) {
    if (!seedship::Md5IsaSupported(isa)) continue;
    napi_value name;
    NAPI_CALL(env, napi_create_string_utf8(env, seedship::Md5IsaName(isa), NAPI_AUTO_LENGTH, &name));
    NAPI_CALL(env, napi_set_element(env, md5_isas, supported++, name));
  }
  napi_property_descriptor props[] = {
      {"syncfs", nullptr, Syncfs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"fallocate", nullptr, Fallocate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"fadvise", nullptr, Fadvise, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"pwriteDirect", nullptr, PwriteDirect, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"utimensat", nullptr, Utimensat, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mknod", nullptr, Mknod, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"alignment", nullptr, nullptr, nullptr, nullptr, alignment, napi_enumerable, nullptr},
      {"md5Many", nullptr, Md5ManyJs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"xxh64Hex", nullptr, Xxh64HexJs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"md5Isa", nullptr, nullptr, nullptr, nullptr, md5_isa, napi_enumerable, nullptr},
      {"md5Isas", nullptr, nullptr, nullptr, nullptr, md5_isas, napi_enumerable, nullptr},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
