// Kernel dispatch: CPU detection and the process-wide active table.
#include <atomic>
#include <stdexcept>
#include <string>

#include "sparsetrain/kernels/kernels.h"

namespace sparsetrain::kernels {
namespace {

// Constant-initialized (nullptr = "not chosen yet"), so active() is safe even from
// other translation units' static initializers.
std::atomic<const KernelTable*> g_active{nullptr};

const KernelTable& auto_table() {
  const KernelTable* t = avx512_table();
  return t ? *t : scalar_table();
}

}  // namespace

bool cpu_supports_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool supported = [] {
    // libgcc's detection also checks (via XGETBV) that the OS saves the ZMM and
    // mask registers, so "supported" here means "safe to execute".
    __builtin_cpu_init();  // needed if this runs before libgcc's own constructor
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }();
  return supported;
#else
  return false;
#endif
}

const KernelTable* avx512_table() { return cpu_supports_avx512() ? detail::avx512_table_unchecked() : nullptr; }

void select(KernelChoice choice) {
  switch (choice) {
    case KernelChoice::Auto: g_active.store(&auto_table(), std::memory_order_release); return;
    case KernelChoice::Scalar: g_active.store(&scalar_table(), std::memory_order_release); return;
    case KernelChoice::Avx512: {
      const KernelTable* t = avx512_table();
      if (!t) {
        throw std::runtime_error(
            cpu_supports_avx512()
                ? "kernels: avx512 requested but this build has no AVX-512 kernels; use 'auto' or 'scalar'"
                : "kernels: avx512 requested but this CPU lacks AVX-512F/DQ/BW/VL; use 'auto' or 'scalar'");
      }
      g_active.store(t, std::memory_order_release);
      return;
    }
  }
  throw std::invalid_argument("kernels: invalid KernelChoice value");
}

const KernelTable& active() {
  const KernelTable* t = g_active.load(std::memory_order_acquire);
  if (!t) {
    // First use without select(): settle on Auto. If another thread raced us with
    // select(), its choice wins.
    const KernelTable* expected = nullptr;
    const KernelTable* chosen = &auto_table();
    t = g_active.compare_exchange_strong(expected, chosen, std::memory_order_acq_rel) ? chosen : expected;
  }
  return *t;
}

}  // namespace sparsetrain::kernels
