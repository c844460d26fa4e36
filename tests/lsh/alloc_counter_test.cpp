// Global operator new/delete replacement that counts heap allocations, so
// neuron_index_test.cpp can check that warm queries allocate nothing. Kept in
// its own translation unit: with the definitions visible next to new/delete
// expressions, GCC 12 emits false -Wmismatched-new-delete warnings.
#include <atomic>
#include <cstdlib>
#include <new>

namespace sparsetrain::lsh::testing {
std::atomic<long> allocations{0};
}  // namespace sparsetrain::lsh::testing

void* operator new(std::size_t n) {
  sparsetrain::lsh::testing::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The other forms too: libstdc++'s defaults would forward them to the two above, but a
// sanitizer runtime replaces them with its own, whose blocks must not reach std::free
// (ASan: alloc-dealloc-mismatch, e.g. std::stable_sort's nothrow temporary buffer).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  sparsetrain::lsh::testing::allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
