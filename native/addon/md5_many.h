// Multi-buffer MD5: several independent messages hashed at once, one per SIMD lane (8 lanes of
// 32 bits in AVX2, 16 in AVX-512), with a portable scalar path. The SIMD kernels are compiled
// with function-level target attributes and chosen at run time, so the module still loads and
// hashes on a CPU without them.
#ifndef SEEDSHIP_MD5_MANY_H_
#define SEEDSHIP_MD5_MANY_H_

#include <cstddef>
#include <cstdint>

namespace seedship {

enum class Md5Isa { kScalar, kAvx2, kAvx512 };

// The fastest kernel this CPU (and OS: the registers must be saved on context switch) supports.
Md5Isa Md5BestIsa();
bool Md5IsaSupported(Md5Isa isa);
const char* Md5IsaName(Md5Isa isa);
// Parses "scalar", "avx2", "avx512"; false for anything else.
bool Md5IsaFromName(const char* name, Md5Isa* out);

// MD5 of `n` messages (`data[i]`, `len[i]` bytes; data[i] may be null when len[i] is 0) into
// out[16 * i]. `isa` must be supported (Md5IsaSupported). Lanes of different lengths are fine:
// a lane that finishes takes the next message, or idles while the others go on.
void Md5Many(Md5Isa isa, const uint8_t* const* data, const size_t* len, size_t n, uint8_t* out);

}  // namespace seedship

#endif  // SEEDSHIP_MD5_MANY_H_
