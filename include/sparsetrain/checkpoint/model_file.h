#pragma once
// model.h5: the trained weights plus everything needed to rebuild the network
// (the resolved config as INI text; LSH seeds derive from its train.seed).
//
// Layout (h5ls -r model.h5):
//   /                     attrs: format = "sparsetrain-model", format_version = 2,
//                                config (INI text), config_checksum, parameter_count
//   /params/<block>/w     float32 [rows x cols] for each block of Network::blocks();
//                         attr checksum (the row checksum of checkpoints, util/checksum.h)
//   /lsh/<block>/w        float32: for each LSH-indexed layer, the weights its hash
//                         tables were last built from (tables are rebuilt from these on
//                         load, so predictions match the end of training exactly);
//                         attr checksum (checksum64 of the array)
// Checksums are 16 hex digits. Format 1 files (no checksums) still load, with a warning.
// Non-finite weights are refused when saving and when loading.
#include <string>

#include "sparsetrain/checkpoint/table_snapshot.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::checkpoint {

inline constexpr int kModelFormatVersion = 2;

// Writes atomically: a temporary file in the same directory, fsync, then rename.
// `tables`: the source weights of the current LSH tables; null = the current weights.
// With a sharded input table and `comm`, every rank calls it and writes its own rows of
// /params/embed/w into the one file (parallel HDF5); the layout is the same either way.
void save_model(const std::string& path, const model::Network& network, const std::string& config_ini,
                const TableSnapshot* tables = nullptr, collective::Comm* comm = nullptr);

// The config stored in a model file (to build the Network before loading weights),
// verified against its checksum.
std::string read_model_config(const std::string& path);

// Loads weights into a network built from that config (shapes must match; a sharded table
// reads only this rank's rows, the file's stride for this rank count) and rebuilds
// its LSH tables from the stored table weights (or, for files without them, the weights).
// Every dataset is checked against its checksum (summed over `comm` for a sharded table:
// collective then) and must hold finite values; else H5Error naming the file and dataset.
void load_model_weights(const std::string& path, model::Network& network, collective::Comm* comm = nullptr);

// The same two on a file already open (e.g. from memory: H5File::open_image).
class H5File;
std::string read_model_config(const H5File& file);
void load_model_weights(const H5File& file, model::Network& network, collective::Comm* comm = nullptr);

}  // namespace sparsetrain::checkpoint
