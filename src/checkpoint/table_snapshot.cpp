#include "sparsetrain/checkpoint/table_snapshot.h"

#include <stdexcept>

namespace sparsetrain::checkpoint {
namespace {

template <typename Net> auto& find_block(Net& net, const std::string& name) {
  for (auto& b : net.blocks())
    if (b.name == name) return b;
  throw std::runtime_error("the network has no parameter block '" + name + "'");
}

}  // namespace

std::vector<std::string> TableSnapshot::indexed_blocks(const model::Network& network) {
  // Hidden layer l is block "fc<l+1>"; it has tables unless it is dense (sparsity 1),
  // the same rule Network's constructor applies.
  std::vector<std::string> names;
  const auto& sparsity = network.spec().sparsity;
  for (size_t l = 0; l < network.spec().hidden.size(); ++l)
    if (sparsity.at(l) < 1.0) names.push_back("fc" + std::to_string(l + 1));
  return names;
}

void TableSnapshot::capture(const model::Network& network) {
  const auto names = indexed_blocks(network);
  blocks_.resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const optim::ParamBlock& b = find_block(network, names[i]);
    blocks_[i].name = b.name;
    blocks_[i].rows = b.rows;
    blocks_[i].cols = b.cols;
    blocks_[i].w.assign(b.w.begin(), b.w.end());  // reuses the capacity after the first capture
  }
}

void TableSnapshot::restore_tables(model::Network& network) const {
  if (blocks_.empty()) {  // no hidden LSH tables; the input layer's block sums still come from the weights
    network.rebuild_tables();
    return;
  }
  // Network::rebuild_tables hashes the current weights of every indexed layer: swap
  // the captured weights in for the rebuild and the current ones back afterwards.
  std::vector<optim::ParamBlock*> targets;
  for (const Block& s : blocks_) {
    optim::ParamBlock& b = find_block(network, s.name);
    if (b.rows != s.rows || b.cols != s.cols || s.w.size() != b.w.size())
      throw std::runtime_error("LSH table source for '" + s.name + "' has the wrong shape");
    targets.push_back(&b);
  }
  std::vector<optim::FloatArray> current(blocks_.size());
  for (size_t i = 0; i < blocks_.size(); ++i) {
    current[i] = std::move(targets[i]->w);
    targets[i]->w = blocks_[i].w;
  }
  const auto swap_back = [&] {
    for (size_t i = 0; i < blocks_.size(); ++i) targets[i]->w = std::move(current[i]);
  };
  try {
    network.rebuild_tables();
  } catch (...) {
    swap_back();
    throw;
  }
  swap_back();
}

}  // namespace sparsetrain::checkpoint
