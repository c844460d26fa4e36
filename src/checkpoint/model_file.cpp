#include "sparsetrain/checkpoint/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "sparsetrain/checkpoint/h5.h"
#include "sparsetrain/checkpoint/parallel_file.h"
#include "sparsetrain/util/checksum.h"

namespace sparsetrain::checkpoint {
namespace {

// Non-finite values in this process's part of a block, summed over ranks when the block
// is sharded (collective then, so every rank reaches the same verdict).
uint64_t non_finite_count(const optim::ParamBlock& b, collective::Comm* comm) {
  uint64_t n = 0;
  for (const float x : b.w) n += std::isfinite(x) ? 0 : 1;
  return b.shard.sharded() && comm ? comm->sum(n) : n;
}

// A model with NaN or Inf weights predicts NaN for every row: never write one, never load one.
void require_finite(const model::Network& network, collective::Comm* comm, const std::string& what) {
  for (const auto& b : network.blocks())
    if (const uint64_t bad = non_finite_count(b, comm))
      throw H5Error(what + ": parameter block '" + b.name + "' holds " + std::to_string(bad) +
                    " non-finite weight(s) (NaN or Inf); training diverged or the file is damaged");
}

std::string config_checksum(const std::string& config_ini) {
  return util::checksum_hex(util::checksum64(config_ini.data(), config_ini.size()));
}

// The whole file under its temporary name (every rank, when the file is parallel). Each
// dataset carries its checksum, and the root the config's, as checkpoints do.
void write_model(const std::string& tmp, const ParallelFile& pf, const model::Network& network,
                 const std::string& config_ini, const TableSnapshot* tables) {
  H5File f = H5File::create(tmp, pf.fapl());
  f.set_attr("format", std::string("sparsetrain-model"));
  f.set_attr("format_version", static_cast<int64_t>(kModelFormatVersion));
  f.set_attr("config", config_ini);
  f.set_attr("config_checksum", config_checksum(config_ini));
  f.set_attr("parameter_count", static_cast<int64_t>(network.num_parameters()));
  f.create_group("/params");
  for (const auto& b : network.blocks()) {
    const std::string name = "/params/" + b.name + "/w";
    f.create_group("/params/" + b.name);
    pf.write_rows(f, name, H5T_NATIVE_FLOAT, b.w.data(), sizeof(float), b.shard, b.cols);
    const uint64_t sum = rows_checksum(b.w.data(), b.shard, sizeof(float) * b.cols, pf.io());
    f.set_attr("checksum", util::checksum_hex(sum), name);
  }
  if (tables && !tables->blocks().empty()) {
    f.create_group("/lsh");
    for (const auto& t : tables->blocks()) {
      const std::string name = "/lsh/" + t.name + "/w";
      f.create_group("/lsh/" + t.name);
      f.write_floats(name, t.w.data(), t.rows, t.cols);
      f.set_attr("checksum", util::checksum_hex(util::checksum64(t.w.data(), t.w.size() * sizeof(float))), name);
    }
  }
  f.flush();
}

// Format 1 files have no checksums: they load, unverified, with a warning.
bool has_checksums(const H5File& f) { return f.attr_int("format_version") >= 2; }

void verify(const H5File& f, const std::string& name, const std::string& got) {
  const std::string want = f.has_attr("checksum", name) ? f.attr_string("checksum", name) : "(none)";
  if (want != got)
    throw H5Error("model file '" + f.path() + "': dataset " + name + " is damaged (checksum " + got + ", stored " +
                  want + ")");
}

}  // namespace

void save_model(const std::string& path, const model::Network& network, const std::string& config_ini,
                const TableSnapshot* tables, collective::Comm* comm) {
  require_finite(network, comm, "refusing to save '" + path + "'");
  const ParallelFile pf(comm, network);
  const std::string tmp = pf.temporary_name(path);
  try {
    write_model(tmp, pf, network, config_ini, tables);
    pf.commit(tmp, path);
  } catch (...) {
    // A failed save (disk full, read-only, a bad path) leaves nothing behind; the earlier
    // model.h5, if any, is untouched.
    if (!pf.parallel() || comm->is_root()) std::remove(tmp.c_str());
    throw;
  }
}

std::string read_model_config(const std::string& path) { return read_model_config(H5File::open_read(path)); }

std::string read_model_config(const H5File& f) {
  const std::string& path = f.path();
  if (!f.has_attr("format") || f.attr_string("format") != "sparsetrain-model")
    throw H5Error("'" + path + "' is not a sparsetrain model file (no format = sparsetrain-model attribute)");
  const int64_t version = f.attr_int("format_version");
  if (version < 1 || version > kModelFormatVersion)
    throw H5Error("'" + path + "' has model format version " + std::to_string(version) + ", this build reads 1 to " +
                  std::to_string(kModelFormatVersion));
  std::string config = f.attr_string("config");
  if (!has_checksums(f)) {
    std::cerr << "warning: '" << path << "' is a format 1 model file, written before model files had checksums: "
              << "its config and weights cannot be verified\n";
  } else if (const std::string got = config_checksum(config);
             !f.has_attr("config_checksum") || f.attr_string("config_checksum") != got) {
    throw H5Error("model file '" + path + "': its config attribute is damaged or was edited (checksum " + got +
                  ", stored " + (f.has_attr("config_checksum") ? f.attr_string("config_checksum") : "(none)") +
                  "); override settings on the command line instead (--section.key value)");
  }
  return config;
}

void load_model_weights(const std::string& path, model::Network& network, collective::Comm* comm) {
  load_model_weights(H5File::open_read(path), network, comm);
}

void load_model_weights(const H5File& f, model::Network& network, collective::Comm* comm) {
  const std::string& path = f.path();
  const bool checked = has_checksums(f);
  RowIo io;
  io.comm = comm;
  for (auto& b : network.blocks()) {
    const std::string name = "/params/" + b.name + "/w";
    if (!f.exists("/params/" + b.name) || !f.exists(name)) throw H5Error("'" + path + "' has no dataset " + name);
    const auto d = f.dims(name);
    if (d.size() != 2 || d[0] != b.global_rows() || d[1] != b.cols)
      throw H5Error("'" + path + "': " + name + " has the wrong shape for this config");
    f.read_rows(name, H5T_NATIVE_FLOAT, b.w.data(), sizeof(float), b.shard, b.cols);  // this rank's rows
    if (checked) verify(f, name, util::checksum_hex(rows_checksum(b.w.data(), b.shard, sizeof(float) * b.cols, io)));
  }
  require_finite(network, comm, "model file '" + path + "'");
  if (!f.exists("/lsh")) {
    network.rebuild_tables();
    return;
  }
  TableSnapshot tables;
  for (const auto& name : TableSnapshot::indexed_blocks(network)) {
    const std::string ds = "/lsh/" + name + "/w";
    if (!f.exists("/lsh/" + name) || !f.exists(ds)) throw H5Error("'" + path + "' has no dataset " + ds);
    const auto d = f.dims(ds);
    if (d.size() != 2) throw H5Error("'" + path + "': " + ds + " is not a matrix");
    for (const auto& nb : network.blocks())  // before allocating what the file's dimensions ask for
      if (nb.name == name && (d[0] != nb.rows || d[1] != nb.cols))
        throw H5Error("'" + path + "': " + ds + " has the wrong shape for this config");
    TableSnapshot::Block b;
    b.name = name;
    b.rows = d[0];
    b.cols = d[1];
    b.w.resize(b.rows * b.cols);
    f.read_floats(ds, b.w.data(), b.w.size());
    if (checked) verify(f, ds, util::checksum_hex(util::checksum64(b.w.data(), b.w.size() * sizeof(float))));
    if (!std::all_of(b.w.begin(), b.w.end(), [](float x) { return std::isfinite(x); }))
      throw H5Error("model file '" + path + "': " + ds + " holds non-finite values (NaN or Inf)");
    tables.blocks().push_back(std::move(b));
  }
  tables.restore_tables(network);
}

}  // namespace sparsetrain::checkpoint
