#pragma once
// Subnormal ("denormal") floats: flushed to zero, or kept (IEEE gradual underflow).
//
// Why this exists: Adam's moments of rarely touched rows decay by beta^k and its v takes
// (1 - beta2) * g * g of tiny gradients, so after a few hundred steps many stored moments
// are subnormal. On Intel cores every SSE/AVX-512 operation that reads or makes a
// subnormal takes a microcode assist (~100+ cycles); measured here (Xeon, model 207) the
// sparse-input table's update went from ~90 to ~600 ns per row between steps 600 and
// 1500 of a training run. Flush-to-zero (FTZ: results that would be subnormal become 0)
// plus denormals-are-zero (DAZ: subnormal inputs read as 0) removes the assists; a value
// below 1.2e-38 is far under anything a weight or a moment can usefully carry. This is
// also what TensorFlow does on CPU by default.
//
// The mode lives in each thread's MXCSR register (x86). New threads inherit it from the
// thread that creates them; threads that already exist (an OpenMP pool) must set it
// themselves, which is why callers apply it on every OpenMP thread (train/setup.cpp).
// Scalar and AVX-512 kernels obey the same register, so they stay comparable.
namespace sparsetrain::kernels {

enum class Denormals { Flush, Keep };

// Sets FTZ and DAZ on the calling thread (Flush) or clears them (Keep). No-op off x86.
void set_denormals(Denormals mode);
// The calling thread's mode (Keep where the CPU has no such switch).
Denormals current_denormals();

}  // namespace sparsetrain::kernels
