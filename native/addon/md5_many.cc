// Multi-buffer MD5 (see md5_many.h). MD5 itself is one long dependency chain per message, so a
// single message cannot use SIMD; independent messages can, one per 32-bit lane, the layout of
// Intel's multi-buffer hashing (isa-l md5_mb). Each block of every lane is loaded as rows and
// transposed in registers, so word j of all lanes sits in one vector.
#include "md5_many.h"

#include <string.h>

#include <initializer_list>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SEEDSHIP_MD5_X86 1
#endif

namespace seedship {
namespace {

constexpr size_t kBlock = 64;
constexpr size_t kIdle = static_cast<size_t>(-1);
constexpr size_t kMaxLanes = 16;
constexpr uint32_t kIv[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};

// The 64 steps of RFC 1321 §3.4: FF/GG/HH/II(a, b, c, d, message word, shift, constant), each
// kernel defining the four for its own registers.
#define MD5_ALL_STEPS                                 \
  FF(a, b, c, d, 0, 7, 0xd76aa478u);                  \
  FF(d, a, b, c, 1, 12, 0xe8c7b756u);                 \
  FF(c, d, a, b, 2, 17, 0x242070dbu);                 \
  FF(b, c, d, a, 3, 22, 0xc1bdceeeu);                 \
  FF(a, b, c, d, 4, 7, 0xf57c0fafu);                  \
  FF(d, a, b, c, 5, 12, 0x4787c62au);                 \
  FF(c, d, a, b, 6, 17, 0xa8304613u);                 \
  FF(b, c, d, a, 7, 22, 0xfd469501u);                 \
  FF(a, b, c, d, 8, 7, 0x698098d8u);                  \
  FF(d, a, b, c, 9, 12, 0x8b44f7afu);                 \
  FF(c, d, a, b, 10, 17, 0xffff5bb1u);                \
  FF(b, c, d, a, 11, 22, 0x895cd7beu);                \
  FF(a, b, c, d, 12, 7, 0x6b901122u);                 \
  FF(d, a, b, c, 13, 12, 0xfd987193u);                \
  FF(c, d, a, b, 14, 17, 0xa679438eu);                \
  FF(b, c, d, a, 15, 22, 0x49b40821u);                \
  GG(a, b, c, d, 1, 5, 0xf61e2562u);                  \
  GG(d, a, b, c, 6, 9, 0xc040b340u);                  \
  GG(c, d, a, b, 11, 14, 0x265e5a51u);                \
  GG(b, c, d, a, 0, 20, 0xe9b6c7aau);                 \
  GG(a, b, c, d, 5, 5, 0xd62f105du);                  \
  GG(d, a, b, c, 10, 9, 0x02441453u);                 \
  GG(c, d, a, b, 15, 14, 0xd8a1e681u);                \
  GG(b, c, d, a, 4, 20, 0xe7d3fbc8u);                 \
  GG(a, b, c, d, 9, 5, 0x21e1cde6u);                  \
  GG(d, a, b, c, 14, 9, 0xc33707d6u);                 \
  GG(c, d, a, b, 3, 14, 0xf4d50d87u);                 \
  GG(b, c, d, a, 8, 20, 0x455a14edu);                 \
  GG(a, b, c, d, 13, 5, 0xa9e3e905u);                 \
  GG(d, a, b, c, 2, 9, 0xfcefa3f8u);                  \
  GG(c, d, a, b, 7, 14, 0x676f02d9u);                 \
  GG(b, c, d, a, 12, 20, 0x8d2a4c8au);                \
  HH(a, b, c, d, 5, 4, 0xfffa3942u);                  \
  HH(d, a, b, c, 8, 11, 0x8771f681u);                 \
  HH(c, d, a, b, 11, 16, 0x6d9d6122u);                \
  HH(b, c, d, a, 14, 23, 0xfde5380cu);                \
  HH(a, b, c, d, 1, 4, 0xa4beea44u);                  \
  HH(d, a, b, c, 4, 11, 0x4bdecfa9u);                 \
  HH(c, d, a, b, 7, 16, 0xf6bb4b60u);                 \
  HH(b, c, d, a, 10, 23, 0xbebfbc70u);                \
  HH(a, b, c, d, 13, 4, 0x289b7ec6u);                 \
  HH(d, a, b, c, 0, 11, 0xeaa127fau);                 \
  HH(c, d, a, b, 3, 16, 0xd4ef3085u);                 \
  HH(b, c, d, a, 6, 23, 0x04881d05u);                 \
  HH(a, b, c, d, 9, 4, 0xd9d4d039u);                  \
  HH(d, a, b, c, 12, 11, 0xe6db99e5u);                \
  HH(c, d, a, b, 15, 16, 0x1fa27cf8u);                \
  HH(b, c, d, a, 2, 23, 0xc4ac5665u);                 \
  II(a, b, c, d, 0, 6, 0xf4292244u);                  \
  II(d, a, b, c, 7, 10, 0x432aff97u);                 \
  II(c, d, a, b, 14, 15, 0xab9423a7u);                \
  II(b, c, d, a, 5, 21, 0xfc93a039u);                 \
  II(a, b, c, d, 12, 6, 0x655b59c3u);                 \
  II(d, a, b, c, 3, 10, 0x8f0ccc92u);                 \
  II(c, d, a, b, 10, 15, 0xffeff47du);                \
  II(b, c, d, a, 1, 21, 0x85845dd1u);                 \
  II(a, b, c, d, 8, 6, 0x6fa87e4fu);                  \
  II(d, a, b, c, 15, 10, 0xfe2ce6e0u);                \
  II(c, d, a, b, 6, 15, 0xa3014314u);                 \
  II(b, c, d, a, 13, 21, 0x4e0811a1u);                \
  II(a, b, c, d, 4, 6, 0xf7537e82u);                  \
  II(d, a, b, c, 11, 10, 0xbd3af235u);                \
  II(c, d, a, b, 2, 15, 0x2ad7d2bbu);                 \
  II(b, c, d, a, 9, 21, 0xeb86d391u)

// A kernel runs `nblocks` 64-byte blocks through every lane: `st` holds the lanes' A words, then
// their B, C and D words (4 × lanes, 64-byte aligned), `ptrs` each lane's next block.
using Kernel = void (*)(uint32_t* st, const uint8_t* const* ptrs, size_t nblocks);

inline uint32_t LoadLe32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}

inline uint32_t Rol(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

void KernelScalar(uint32_t* st, const uint8_t* const* ptrs, size_t nblocks) {
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  const uint8_t* p = ptrs[0];
  for (size_t blk = 0; blk < nblocks; ++blk, p += kBlock) {
    uint32_t m[16];
    for (int i = 0; i < 16; ++i) m[i] = LoadLe32(p + 4 * i);
    const uint32_t aa = a, bb = b, cc = c, dd = d;
#define FF(a, b, c, d, k, s, t) a = b + Rol(a + m[k] + (t) + ((d) ^ ((b) & ((c) ^ (d)))), s)
#define GG(a, b, c, d, k, s, t) a = b + Rol(a + m[k] + (t) + ((c) ^ ((d) & ((b) ^ (c)))), s)
#define HH(a, b, c, d, k, s, t) a = b + Rol(a + m[k] + (t) + ((b) ^ (c) ^ (d)), s)
#define II(a, b, c, d, k, s, t) a = b + Rol(a + m[k] + (t) + ((c) ^ ((b) | ~(d))), s)
    MD5_ALL_STEPS;
#undef FF
#undef GG
#undef HH
#undef II
    a += aa;
    b += bb;
    c += cc;
    d += dd;
  }
  st[0] = a;
  st[1] = b;
  st[2] = c;
  st[3] = d;
}

#ifdef SEEDSHIP_MD5_X86

// Rows r[0..7] (32 bytes of one lane each) to columns: out[j] holds word j of every lane.
__attribute__((target("avx2"), always_inline)) inline void Transpose8(const __m256i* r, __m256i* out) {
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

__attribute__((target("avx2"))) void KernelAvx2(uint32_t* st, const uint8_t* const* ptrs, size_t nblocks) {
  __m256i a = _mm256_load_si256(reinterpret_cast<const __m256i*>(st));
  __m256i b = _mm256_load_si256(reinterpret_cast<const __m256i*>(st + 8));
  __m256i c = _mm256_load_si256(reinterpret_cast<const __m256i*>(st + 16));
  __m256i d = _mm256_load_si256(reinterpret_cast<const __m256i*>(st + 24));
  const uint8_t* p[8];
  for (int i = 0; i < 8; ++i) p[i] = ptrs[i];
  const __m256i ones = _mm256_set1_epi32(-1);
  for (size_t blk = 0; blk < nblocks; ++blk) {
    __m256i m[16], r[8];
    for (int half = 0; half < 2; ++half) {
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[i] + 32 * half));
      Transpose8(r, m + 8 * half);
    }
    for (int i = 0; i < 8; ++i) p[i] += kBlock;
    const __m256i aa = a, bb = b, cc = c, dd = d;
    // a + m[k] + t does not wait for b, c, d: only the function, the rotate and + b are on the chain.
#define STEP8(fn, a, b, c, d, k, s, t)                                                                    \
  do {                                                                                                  \
    __m256i x = _mm256_add_epi32(_mm256_add_epi32(a, _mm256_add_epi32(m[k], _mm256_set1_epi32(static_cast<int>(t)))), fn); \
    a = _mm256_add_epi32(b, _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))); \
  } while (0)
#define FF(a, b, c, d, k, s, t) STEP8(_mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d))), a, b, c, d, k, s, t)
#define GG(a, b, c, d, k, s, t) STEP8(_mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c))), a, b, c, d, k, s, t)
#define HH(a, b, c, d, k, s, t) STEP8(_mm256_xor_si256(b, _mm256_xor_si256(c, d)), a, b, c, d, k, s, t)
#define II(a, b, c, d, k, s, t) STEP8(_mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones))), a, b, c, d, k, s, t)
    MD5_ALL_STEPS;
#undef FF
#undef GG
#undef HH
#undef II
#undef STEP8
    a = _mm256_add_epi32(a, aa);
    b = _mm256_add_epi32(b, bb);
    c = _mm256_add_epi32(c, cc);
    d = _mm256_add_epi32(d, dd);
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(st), a);
  _mm256_store_si256(reinterpret_cast<__m256i*>(st + 8), b);
  _mm256_store_si256(reinterpret_cast<__m256i*>(st + 16), c);
  _mm256_store_si256(reinterpret_cast<__m256i*>(st + 24), d);
}

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (the _mm512_undefined_* pass-through
// operand of the unmasked intrinsics), not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Rows r[0..15] (one lane's whole block each) to columns: out[j] holds word j of every lane.
__attribute__((target("avx512f"), always_inline)) inline void Transpose16(const __m512i* r, __m512i* out) {
  __m512i t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  // u[4k + w], 128-bit lane q: word 4q + w of rows 4k .. 4k + 3.
  for (int k = 0; k < 4; ++k) {
    u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  for (int w = 0; w < 4; ++w) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[w], u[4 + w], 0x44), v1 = _mm512_shuffle_i32x4(u[w], u[4 + w], 0xee);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + w], u[12 + w], 0x44), v3 = _mm512_shuffle_i32x4(u[8 + w], u[12 + w], 0xee);
    out[w] = _mm512_shuffle_i32x4(v0, v2, 0x88);
    out[4 + w] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
    out[8 + w] = _mm512_shuffle_i32x4(v1, v3, 0x88);
    out[12 + w] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
  }
}

__attribute__((target("avx512f"))) void KernelAvx512(uint32_t* st, const uint8_t* const* ptrs, size_t nblocks) {
  __m512i a = _mm512_load_si512(st), b = _mm512_load_si512(st + 16);
  __m512i c = _mm512_load_si512(st + 32), d = _mm512_load_si512(st + 48);
  const uint8_t* p[16];
  for (int i = 0; i < 16; ++i) p[i] = ptrs[i];
  for (size_t blk = 0; blk < nblocks; ++blk) {
    __m512i m[16], r[16];
    for (int i = 0; i < 16; ++i) {
      r[i] = _mm512_loadu_si512(p[i]);
      p[i] += kBlock;
    }
    Transpose16(r, m);
    const __m512i aa = a, bb = b, cc = c, dd = d;
    // One vpternlogd per round function (truth tables of b, c, d) and one vprold per rotate.
#define STEP16(imm, a, b, c, d, k, s, t)                                                                  \
  do {                                                                                                  \
    __m512i x = _mm512_add_epi32(_mm512_add_epi32(a, _mm512_add_epi32(m[k], _mm512_set1_epi32(static_cast<int>(t)))), \
                                 _mm512_ternarylogic_epi32(b, c, d, imm));                               \
    a = _mm512_add_epi32(b, _mm512_rol_epi32(x, s));                                                    \
  } while (0)
#define FF(a, b, c, d, k, s, t) STEP16(0xca, a, b, c, d, k, s, t) /* b ? c : d */
#define GG(a, b, c, d, k, s, t) STEP16(0xe4, a, b, c, d, k, s, t) /* d ? b : c */
#define HH(a, b, c, d, k, s, t) STEP16(0x96, a, b, c, d, k, s, t) /* b ^ c ^ d */
#define II(a, b, c, d, k, s, t) STEP16(0x39, a, b, c, d, k, s, t) /* c ^ (b | ~d) */
    MD5_ALL_STEPS;
#undef FF
#undef GG
#undef HH
#undef II
#undef STEP16
    a = _mm512_add_epi32(a, aa);
    b = _mm512_add_epi32(b, bb);
    c = _mm512_add_epi32(c, cc);
    d = _mm512_add_epi32(d, dd);
  }
  _mm512_store_si512(st, a);
  _mm512_store_si512(st + 16, b);
  _mm512_store_si512(st + 32, c);
  _mm512_store_si512(st + 48, d);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // SEEDSHIP_MD5_X86

// One lane's message: its whole blocks are read in place; the rest, the 0x80 byte, zeros and the
// bit length (RFC 1321 §3.1-3.2) are copied into `tail`, one or two blocks.
struct Lane {
  size_t msg = kIdle;
  const uint8_t* p = nullptr;
  size_t left = 0;  // blocks left in the current phase (whole blocks, then tail)
  bool in_tail = false;
  size_t tail_blocks = 0;
  alignas(64) uint8_t tail[2 * kBlock];
};

void StartLane(Lane* l, size_t msg, const uint8_t* data, size_t len) {
  const size_t whole = len / kBlock, rest = len % kBlock;
  l->msg = msg;
  l->p = data;
  l->left = whole;
  l->in_tail = false;
  memset(l->tail, 0, sizeof l->tail);
  if (rest > 0) memcpy(l->tail, data + whole * kBlock, rest);
  l->tail[rest] = 0x80;
  l->tail_blocks = rest < kBlock - 8 ? 1 : 2;
  const uint64_t bits = static_cast<uint64_t>(len) << 3;  // modulo 2^64, as the RFC says
  uint8_t* at = l->tail + l->tail_blocks * kBlock - 8;
  for (int i = 0; i < 8; ++i) at[i] = static_cast<uint8_t>(bits >> (8 * i));
}

// Keeps every lane busy while messages remain: each kernel call runs as many blocks as the lane
// nearest to a phase change has left, so a short message ends (and its lane takes the next one)
// without the others stopping early. An idle lane reads an active lane's blocks; its result is
// never used, which is cheaper than masking every step.
void Schedule(Kernel kernel, size_t lanes_n, const uint8_t* const* data, const size_t* len, size_t n, uint8_t* out) {
  Lane lanes[kMaxLanes];
  alignas(64) uint32_t st[4 * kMaxLanes];
  const uint8_t* ptrs[kMaxLanes];
  size_t next = 0;
  for (;;) {
    size_t run = static_cast<size_t>(-1);
    const uint8_t* any = nullptr;
    for (size_t w = 0; w < lanes_n; ++w) {
      Lane& l = lanes[w];
      if (l.msg == kIdle && next < n) {
        StartLane(&l, next, data[next], len[next]);
        for (int j = 0; j < 4; ++j) st[j * lanes_n + w] = kIv[j];
        ++next;
      }
      if (l.msg == kIdle) continue;
      if (l.left == 0 && !l.in_tail) {
        l.p = l.tail;
        l.left = l.tail_blocks;
        l.in_tail = true;
      }
      if (l.left < run) run = l.left;
      any = l.p;
    }
    if (any == nullptr) return;
    for (size_t w = 0; w < lanes_n; ++w) ptrs[w] = lanes[w].msg == kIdle ? any : lanes[w].p;
    kernel(st, ptrs, run);
    for (size_t w = 0; w < lanes_n; ++w) {
      Lane& l = lanes[w];
      if (l.msg == kIdle) continue;
      l.p += run * kBlock;
      l.left -= run;
      if (l.left > 0 || !l.in_tail) continue;
      uint8_t* o = out + 16 * l.msg;
      for (int j = 0; j < 4; ++j) {
        const uint32_t v = st[j * lanes_n + w];
        for (int i = 0; i < 4; ++i) o[4 * j + i] = static_cast<uint8_t>(v >> (8 * i));
      }
      l.msg = kIdle;
    }
  }
}

}  // namespace

bool Md5IsaSupported(Md5Isa isa) {
  switch (isa) {
    case Md5Isa::kScalar:
      return true;
#ifdef SEEDSHIP_MD5_X86
    // libgcc's and compiler-rt's checks include the OS half (XGETBV: the kernel saves the
    // YMM/ZMM state), not only CPUID.
    case Md5Isa::kAvx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2");
    case Md5Isa::kAvx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f");
#else
    default:
      return false;
#endif
  }
  return false;
}

Md5Isa Md5BestIsa() {
  static const Md5Isa best = Md5IsaSupported(Md5Isa::kAvx512) ? Md5Isa::kAvx512
                             : Md5IsaSupported(Md5Isa::kAvx2) ? Md5Isa::kAvx2
                                                              : Md5Isa::kScalar;
  return best;
}

const char* Md5IsaName(Md5Isa isa) {
  switch (isa) {
    case Md5Isa::kScalar: return "scalar";
    case Md5Isa::kAvx2: return "avx2";
    case Md5Isa::kAvx512: return "avx512";
  }
  return "?";
}

bool Md5IsaFromName(const char* name, Md5Isa* out) {
  for (Md5Isa isa : {Md5Isa::kScalar, Md5Isa::kAvx2, Md5Isa::kAvx512}) {
    if (strcmp(name, Md5IsaName(isa)) == 0) {
      *out = isa;
      return true;
    }
  }
  return false;
}

void Md5Many(Md5Isa isa, const uint8_t* const* data, const size_t* len, size_t n, uint8_t* out) {
  switch (isa) {
#ifdef SEEDSHIP_MD5_X86
    case Md5Isa::kAvx2:
      Schedule(KernelAvx2, 8, data, len, n, out);
      return;
    case Md5Isa::kAvx512:
      Schedule(KernelAvx512, 16, data, len, n, out);
      return;
#endif
    default:
      Schedule(KernelScalar, 1, data, len, n, out);
      return;
  }
}

}  // namespace seedship
