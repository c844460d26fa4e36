#pragma once
// The weights the LSH tables were last built from. Tables are rebuilt only every
// rebuild interval, so at a checkpoint they describe older weights than the current
// ones; rebuilding them from the current weights on resume would change which neurons
// every later step computes. Keeping a copy of the indexed layers' weights at each
// rebuild (small: the hidden layers, not the wide input table) lets a resume rebuild
// exactly the tables the uninterrupted run had.
#include <string>
#include <vector>

#include "sparsetrain/model/network.h"

namespace sparsetrain::checkpoint {

class TableSnapshot {
 public:
  struct Block {
    std::string name;  // Network block name ("fc1", ...)
    size_t rows = 0, cols = 0;
    optim::FloatArray w;
    bool operator==(const Block&) const = default;
  };

  // Copies the weights of every LSH-indexed layer; call right after each Network::rebuild
  // (and once after construction, for the tables built from the initial weights).
  void capture(const model::Network& network);
  // Rebuilds the network's tables from the captured weights; the network's current
  // weights are left as they were.
  void restore_tables(model::Network& network) const;

  std::vector<Block>& blocks() { return blocks_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  // Names of the blocks that own LSH tables in `network` (sparse hidden layers).
  static std::vector<std::string> indexed_blocks(const model::Network& network);

 private:
  std::vector<Block> blocks_;
};

}  // namespace sparsetrain::checkpoint
