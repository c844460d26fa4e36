#include "sparsetrain/kernels/denormals.h"

#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define ST_HAVE_MXCSR 1
#endif

namespace sparsetrain::kernels {
namespace {
#ifdef ST_HAVE_MXCSR
constexpr unsigned kFtz = 1u << 15;  // MXCSR.FZ: subnormal results become 0
constexpr unsigned kDaz = 1u << 6;   // MXCSR.DAZ: subnormal inputs read as 0
#endif
}  // namespace

void set_denormals(Denormals mode) {
#ifdef ST_HAVE_MXCSR
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(mode == Denormals::Flush ? (csr | kFtz | kDaz) : (csr & ~(kFtz | kDaz)));
#else
  (void)mode;
#endif
}

Denormals current_denormals() {
#ifdef ST_HAVE_MXCSR
  const unsigned csr = _mm_getcsr();
  return (csr & kFtz) && (csr & kDaz) ? Denormals::Flush : Denormals::Keep;
#else
  return Denormals::Keep;
#endif
}

}  // namespace sparsetrain::kernels
