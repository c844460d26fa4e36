#pragma once
// Stable counting scatter, parallel over OpenMP threads, with exactly the result of the
// serial loop
//
//   pos[b] = number of elements with key < b;   for e in 0..n-1: put(e, pos[key(e)]++)
//
// Used to group a batch's (feature id, sample) pairs by id (radix sort passes) and its
// (neuron, sample) pairs by neuron. Serial, these were a fixed cost per step that more
// threads did not shrink. Each thread counts the keys of one contiguous chunk of [0, n);
// bucket b's elements from chunk t go after all elements of smaller buckets and after
// bucket b's elements from chunks before t. That is where the serial loop puts them, so
// the output is the same for any number of threads (and the model stays bitwise the same).
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparsetrain::model {

// key(e) < buckets for every e; n < 2^32. starts (optional) receives buckets + 1 values:
// the first position of each bucket, then n. scratch is reused between calls.
template <class Key, class Put>
void stable_counting_scatter(size_t n, size_t buckets, Key key, Put put, std::vector<uint32_t>* starts,
                             std::vector<uint32_t>& scratch) {
  constexpr size_t kMinPerThread = 4096;  // below this a parallel region costs more than it saves
  const int want = static_cast<int>(
      std::min<size_t>(static_cast<size_t>(omp_get_max_threads()), std::max<size_t>(1, n / kMinPerThread)));
  scratch.assign(static_cast<size_t>(want) * buckets, 0u);
  if (starts) starts->assign(buckets + 1, 0u);
#pragma omp parallel num_threads(want)
  {
    const size_t t = static_cast<size_t>(omp_get_thread_num());
    const size_t nt = static_cast<size_t>(omp_get_num_threads());
    const size_t lo = n * t / nt, hi = n * (t + 1) / nt;
    uint32_t* count = &scratch[t * buckets];
    for (size_t e = lo; e < hi; ++e) ++count[key(e)];
#pragma omp barrier
#pragma omp single
    {
      uint32_t sum = 0;
      for (size_t b = 0; b < buckets; ++b) {
        if (starts) (*starts)[b] = sum;
        for (size_t u = 0; u < nt; ++u) {
          uint32_t& c = scratch[u * buckets + b];
          const uint32_t here = c;
          c = sum;
          sum += here;
        }
      }
      if (starts) (*starts)[buckets] = sum;
    }  // implicit barrier: every chunk's offsets are ready
    for (size_t e = lo; e < hi; ++e) put(e, count[key(e)]++);
  }
}

}  // namespace sparsetrain::model
