#pragma once
// How close the LSH-selected neurons of a hidden layer come to the ones that matter: the
// exact top-k by pre-activation (k = the neurons the layer computes per sample), from the
// input the sample actually had (Network::exact_preactivations). Math only: what "What
// sparsity costs" (issue 17) reports next to the AUC, so users can pick a sparsity and LSH
// setting knowing how much of the layer's signal the selection keeps.
//
// Per sample, with S the selected set, T the exact top-k and z the pre-activations:
//   recall        |S ∩ T| / k (ties at the k-th value count as hits, at most as many as T
//                 has places for them), 1 when k = width;
//   mass_captured sum_{n in S} relu(z_n) / sum_{n in T} relu(z_n), in [0, 1] since T holds
//                 the k largest; 1 when the top-k has no positive mass (nothing to miss).
// A uniformly random k of the width neurons has expected recall k / width and expected mass
// (k / width) * sum_n relu(z_n) / sum_{n in T} relu(z_n): the baselines reported beside them.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sparsetrain/model/network.h"

namespace sparsetrain::model {

struct SampleRecall {
  double recall = 0;
  double mass_captured = 0;
  double random_mass_captured = 0;  // expected for k uniformly random neurons
};

// One sample of one layer: `selected` (distinct ids < preactivations.size(), k = its size,
// at least 1) against the exact pre-activations of every neuron. std::invalid_argument on an
// empty or oversized selection, an id out of range or repeated, or a non-finite pre-activation.
SampleRecall sample_recall(std::span<const uint32_t> selected, std::span<const float> preactivations);

// Means over samples, for one hidden layer.
struct LayerRecall {
  size_t layer = 0;  // 1-based, as the block names (fc1, fc2, ...)
  size_t k = 0, width = 0;
  uint64_t samples = 0;
  double recall = 0;
  double random_recall = 0;  // k / width
  double mass_captured = 0;
  double random_mass_captured = 0;
};

// Sums sample_recall over the batches a network scores, per hidden layer.
class RecallMeter {
 public:
  explicit RecallMeter(const Network& network);
  // Every sample of the network's last forward pass (predict, infer or forward_backward),
  // every hidden layer. Parallel over samples (OpenMP); sums in sample order, so the result
  // does not depend on the thread count.
  void add_last_batch(const Network& network);
  std::vector<LayerRecall> layers() const;

 private:
  struct Sums {
    uint64_t samples = 0;
    double recall = 0, mass = 0, random_mass = 0;
  };
  std::vector<size_t> k_, width_;
  std::vector<Sums> sums_;
};

}  // namespace sparsetrain::model
