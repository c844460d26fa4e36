#pragma once
// Allocator for the big parameter arrays (embedding table weights and Adam moments).
//
// Why: training touches a few thousand random rows of tables that are hundreds of MB
// to GB large (gather in forward, lazy Adam in the update). With 4 KiB pages nearly
// every row costs a TLB miss and a page walk that itself misses the cache. Debian's
// kernel defaults transparent huge pages to "madvise", so a plain std::vector never
// gets them. This allocator aligns large buffers to 2 MiB and asks for huge pages
// with madvise(MADV_HUGEPAGE) before the first touch (std::vector's zero fill), so
// the kernel backs them with 2 MiB pages where it can. Where it cannot (THP "never",
// no contiguous memory) nothing changes but speed: it is advice, not a requirement.
// Small buffers are ordinary 64-byte-aligned allocations.
#include <sys/mman.h>

#include <cstdlib>
#include <limits>
#include <new>

namespace sparsetrain::util {

constexpr size_t kHugePageBytes = size_t{2} << 20;

template <class T> struct HugePageAllocator {
  using value_type = T;

  HugePageAllocator() noexcept = default;
  template <class U> HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > std::numeric_limits<size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    const size_t bytes = n * sizeof(T);
    const bool huge = bytes >= kHugePageBytes;
    const size_t align = huge ? kHugePageBytes : 64;
    const size_t rounded = (bytes + align - 1) / align * align;  // aligned_alloc wants a multiple
    void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded);
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (huge) (void)madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) noexcept { std::free(p); }

  template <class U> bool operator==(const HugePageAllocator<U>&) const noexcept { return true; }
};

}  // namespace sparsetrain::util
