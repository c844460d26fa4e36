#include "sparsetrain/model/lsh_recall.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

namespace sparsetrain::model {

SampleRecall sample_recall(std::span<const uint32_t> selected, std::span<const float> preactivations) {
  const size_t k = selected.size(), width = preactivations.size();
  if (k == 0 || k > width)
    throw std::invalid_argument("sample_recall: " + std::to_string(k) + " selected neurons of " +
                                std::to_string(width) + "; allowed: 1 to the layer's width");
  // The k-th largest pre-activation, and how many of the top k lie strictly above it.
  for (float z : preactivations)
    if (!std::isfinite(z)) throw std::invalid_argument("sample_recall: a pre-activation is not finite");
  std::vector<float> sorted(preactivations.begin(), preactivations.end());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[k - 1];
  double top_mass = 0, all_mass = 0;
  size_t above = 0;
  for (size_t n = 0; n < width; ++n) {
    const float z = preactivations[n];
    if (z > kth) ++above;
    if (z > 0) all_mass += z;
  }
  for (size_t j = 0; j < k; ++j)
    if (sorted[j] > 0) top_mass += sorted[j];
  size_t hits_above = 0, hits_at = 0;
  double mass = 0;
  std::vector<bool> seen(width, false);
  for (uint32_t n : selected) {
    if (n >= width)
      throw std::invalid_argument("sample_recall: neuron id " + std::to_string(n) + " of a layer of " +
                                  std::to_string(width));
    if (seen[n]) throw std::invalid_argument("sample_recall: neuron " + std::to_string(n) + " selected twice");
    seen[n] = true;
    const float z = preactivations[n];
    if (z > kth) ++hits_above;
    if (z == kth) ++hits_at;
    if (z > 0) mass += z;
  }
  SampleRecall r;
  // The top k hold every neuron above kth and k - above of those equal to it.
  r.recall = static_cast<double>(hits_above + std::min(hits_at, k - above)) / static_cast<double>(k);
  const double share = static_cast<double>(k) / static_cast<double>(width);
  r.mass_captured = top_mass > 0 ? mass / top_mass : 1.0;
  r.random_mass_captured = top_mass > 0 ? share * all_mass / top_mass : 1.0;
  return r;
}

RecallMeter::RecallMeter(const Network& network) {
  const auto& hidden = network.spec().hidden;
  for (size_t l = 0; l < hidden.size(); ++l) {
    k_.push_back(network.active_per_layer()[l]);
    width_.push_back(static_cast<size_t>(hidden[l]));
  }
  sums_.resize(hidden.size());
}

void RecallMeter::add_last_batch(const Network& network) {
  if (network.active_per_layer() != k_)
    throw std::invalid_argument("RecallMeter: the network's hidden layers differ from the one it was made for");
  const size_t B = network.last_batch_rows();
  std::vector<SampleRecall> per_sample(B);
  std::vector<Sums> batch(k_.size());
  for (size_t l = 0; l < k_.size(); ++l) {
    std::exception_ptr error;  // an exception must not leave an OpenMP region: kept, rethrown after it
#pragma omp parallel
    {
      std::vector<float> z;
#pragma omp for schedule(static)
      for (long sl = 0; sl < static_cast<long>(B); ++sl) {
        const size_t s = static_cast<size_t>(sl);
        try {
          network.exact_preactivations(l, s, z);
          per_sample[s] = sample_recall(network.selection(l, s), z);
        } catch (...) {
#pragma omp critical(recall_meter_error)
          if (!error) error = std::current_exception();
        }
      }
    }
    if (error) std::rethrow_exception(error);
    Sums& sum = batch[l];
    for (const SampleRecall& r : per_sample) {
      sum.recall += r.recall;
      sum.mass += r.mass_captured;
      sum.random_mass += r.random_mass_captured;
    }
    sum.samples = B;
  }
  for (size_t l = 0; l < k_.size(); ++l) {  // only a batch measured in full counts
    sums_[l].samples += batch[l].samples;
    sums_[l].recall += batch[l].recall;
    sums_[l].mass += batch[l].mass;
    sums_[l].random_mass += batch[l].random_mass;
  }
}

std::vector<LayerRecall> RecallMeter::layers() const {
  std::vector<LayerRecall> out;
  for (size_t l = 0; l < k_.size(); ++l) {
    const Sums& sum = sums_[l];
    const double n = sum.samples > 0 ? static_cast<double>(sum.samples) : 1.0;
    LayerRecall r;
    r.layer = l + 1;
    r.k = k_[l];
    r.width = width_[l];
    r.samples = sum.samples;
    r.recall = sum.recall / n;
    r.random_recall = static_cast<double>(k_[l]) / static_cast<double>(width_[l]);
    r.mass_captured = sum.mass / n;
    r.random_mass_captured = sum.random_mass / n;
    out.push_back(r);
  }
  return out;
}

}  // namespace sparsetrain::model
