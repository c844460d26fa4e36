#include "sparsetrain/checkpoint/model_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "sparsetrain/checkpoint/h5.h"
#include "sparsetrain/checkpoint/parallel_file.h"

namespace sparsetrain::checkpoint {
namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw H5Error("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0 && !directory) throw H5Error("fsync of '" + path + "' failed: " + std::strerror(errno));
}

}  // namespace

void commit_file(const std::string& tmp_path, const std::string& final_path) {
  fsync_path(tmp_path, false);
  if (std::rename(tmp_path.c_str(), final_path.c_str()) != 0)
    throw H5Error("cannot rename '" + tmp_path + "' to '" + final_path + "': " + std::strerror(errno));
  auto dir = std::filesystem::path(final_path).parent_path();
  fsync_path(dir.empty() ? "." : dir.string(), true);
}

void save_model(const std::string& path, const model::Network& network, const std::string& config_ini,
                const TableSnapshot* tables, collective::Comm* comm) {
  const ParallelFile pf(comm, network);
  const std::string tmp = pf.temporary_name(path);
  {
    H5File f = H5File::create(tmp, pf.fapl());
    f.set_attr("format", std::string("sparsetrain-model"));
    f.set_attr("format_version", static_cast<int64_t>(kModelFormatVersion));
    f.set_attr("config", config_ini);
    f.set_attr("parameter_count", static_cast<int64_t>(network.num_parameters()));
    f.create_group("/params");
    for (const auto& b : network.blocks()) {
      f.create_group("/params/" + b.name);
      pf.write_rows(f, "/params/" + b.name + "/w", H5T_NATIVE_FLOAT, b.w.data(), sizeof(float), b.shard, b.cols);
    }
    if (tables && !tables->blocks().empty()) {
      f.create_group("/lsh");
      for (const auto& t : tables->blocks()) {
        f.create_group("/lsh/" + t.name);
        f.write_floats("/lsh/" + t.name + "/w", t.w.data(), t.rows, t.cols);
      }
    }
    f.flush();
  }
  pf.commit(tmp, path);
}

std::string read_model_config(const std::string& path) { return read_model_config(H5File::open_read(path)); }

std::string read_model_config(const H5File& f) {
  const std::string& path = f.path();
  if (!f.has_attr("format") || f.attr_string("format") != "sparsetrain-model")
    throw H5Error("'" + path + "' is not a sparsetrain model file (no format = sparsetrain-model attribute)");
  const int64_t version = f.attr_int("format_version");
  if (version != kModelFormatVersion)
    throw H5Error("'" + path + "' has model format version " + std::to_string(version) + ", this build reads " +
                  std::to_string(kModelFormatVersion));
  return f.attr_string("config");
}

void load_model_weights(const std::string& path, model::Network& network) {
  load_model_weights(H5File::open_read(path), network);
}

void load_model_weights(const H5File& f, model::Network& network) {
  const std::string& path = f.path();
  for (auto& b : network.blocks()) {
    const std::string name = "/params/" + b.name + "/w";
    if (!f.exists("/params/" + b.name) || !f.exists(name))
      throw H5Error("'" + path + "' has no dataset " + name);
    const auto d = f.dims(name);
    if (d.size() != 2 || d[0] != b.global_rows() || d[1] != b.cols)
      throw H5Error("'" + path + "': " + name + " has the wrong shape for this config");
    f.read_rows(name, H5T_NATIVE_FLOAT, b.w.data(), sizeof(float), b.shard, b.cols);  // this rank's rows
  }
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
    tables.blocks().push_back(std::move(b));
  }
  tables.restore_tables(network);
}

}  // namespace sparsetrain::checkpoint
