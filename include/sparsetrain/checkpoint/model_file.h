#pragma once
// model.h5: the trained weights plus everything needed to rebuild the network
// (the resolved config as INI text; LSH seeds derive from its train.seed).
//
// Layout (h5ls -r model.h5):
//   /                     attrs: format = "sparsetrain-model", format_version = 1,
//                                config (INI text), parameter_count
//   /params/<block>/w     float32 [rows x cols] for each block of Network::blocks()
//   /lsh/<block>/w        float32: for each LSH-indexed layer, the weights its hash
//                         tables were last built from (tables are rebuilt from these on
//                         load, so predictions match the end of training exactly)
#include <string>

#include "sparsetrain/checkpoint/table_snapshot.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::checkpoint {

inline constexpr int kModelFormatVersion = 1;

// Writes atomically: a temporary file in the same directory, fsync, then rename.
// `tables`: the source weights of the current LSH tables; null = the current weights.
// With a sharded input table and `comm`, every rank calls it and writes its own rows of
// /params/embed/w into the one file (parallel HDF5); the layout is the same either way.
void save_model(const std::string& path, const model::Network& network, const std::string& config_ini,
                const TableSnapshot* tables = nullptr, collective::Comm* comm = nullptr);

// The config stored in a model file (to build the Network before loading weights).
std::string read_model_config(const std::string& path);

// Loads weights into a network built from that config (shapes must match; a sharded table
// reads only this rank's rows, the file's stride for this rank count) and rebuilds
// its LSH tables from the stored table weights (or, for files without them, the weights).
void load_model_weights(const std::string& path, model::Network& network);

// The same two on a file already open (e.g. from memory: H5File::open_image).
class H5File;
std::string read_model_config(const H5File& file);
void load_model_weights(const H5File& file, model::Network& network);

// fsync a file and its directory, then rename tmp -> final (used by checkpoints too).
void commit_file(const std::string& tmp_path, const std::string& final_path);

}  // namespace sparsetrain::checkpoint
