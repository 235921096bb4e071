// XXH64 (xxHash's 64-bit hash, seed 0 as seedship uses it), portable C++: the reference
// algorithm of xxhash.h (XXH64 spec, github.com/Cyan4973/xxHash/doc/xxhash_spec.md).
#ifndef SEEDSHIP_XXH64_H_
#define SEEDSHIP_XXH64_H_

#include <cstddef>
#include <cstdint>

namespace seedship {

uint64_t Xxh64(const uint8_t* data, size_t len, uint64_t seed);

}  // namespace seedship

#endif  // SEEDSHIP_XXH64_H_
