// Checkpoint save / load (layout in checkpoint.h).
#include "sparsetrain/checkpoint/checkpoint.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include "sparsetrain/checkpoint/h5.h"
#include "sparsetrain/checkpoint/model_file.h"
#include "sparsetrain/checkpoint/parallel_file.h"
#include "sparsetrain/kernels/bf16.h"
#include "sparsetrain/util/checksum.h"

namespace sparsetrain::checkpoint {
namespace {

constexpr const char* kFormat = "sparsetrain-checkpoint";
constexpr uint64_t kRemainderCols = 8;

template <typename T, typename A> std::string sum_of(const std::vector<T, A>& v) {
  return util::checksum_hex(util::checksum64(v.data(), v.size() * sizeof(T)));
}

// Each writer stores the data's checksum on the dataset; each reader verifies it.
template <typename A>
void put_floats(H5File& f, const std::string& name, const std::vector<float, A>& v, uint64_t rows, uint64_t cols) {
  f.write_floats(name, v.data(), rows, cols);
  f.set_attr("checksum", sum_of(v), name);
}
void put_u64(H5File& f, const std::string& name, const std::vector<uint64_t>& v, uint64_t cols = 0) {
  if (cols)
    f.write_u64(name, v.data(), v.size() / cols, cols);
  else
    f.write_u64(name, v.data(), v.size());
  f.set_attr("checksum", sum_of(v), name);
}
void put_f64(H5File& f, const std::string& name, const std::vector<double>& v) {
  f.write_f64(name, v.data(), v.size());
  f.set_attr("checksum", sum_of(v), name);
}

// --- the parameter arrays (format 3): each rank writes and reads the rows it holds ---
// A block's arrays and their dataset names: optim::block_arrays (param_block.h).

hid_t h5_type(optim::ElemType t) {
  switch (t) {
    case optim::ElemType::Float32: return H5T_NATIVE_FLOAT;
    case optim::ElemType::Bfloat16: return H5T_NATIVE_UINT16;
    case optim::ElemType::Uint32: return H5T_NATIVE_UINT32;
  }
  throw std::logic_error("h5_type: unknown element type");
}

void put_rows(H5File& f, const std::string& name, const optim::ConstBlockArray& a, const optim::RowShard& shard,
              const ParallelFile& pf) {
  pf.write_rows(f, name, h5_type(a.type), a.data, a.elem_bytes, shard, a.cols);
  f.set_attr("checksum", util::checksum_hex(rows_checksum(a.data, shard, a.row_bytes(), pf.io())), name);
}

void verify_bytes(const H5File& f, const std::string& name, const void* data, size_t bytes) {
  const std::string want = f.attr_string("checksum", name);
  const std::string got = util::checksum_hex(util::checksum64(data, bytes));
  if (want != got)
    throw CheckpointError("checkpoint '" + f.path() + "': dataset " + name + " is damaged (checksum " + got +
                          ", stored " + want + ")");
}
template <typename T, typename A> void verify(const H5File& f, const std::string& name, const std::vector<T, A>& v) {
  verify_bytes(f, name, v.data(), v.size() * sizeof(T));
}

void need(const H5File& f, const std::string& name) {
  if (!f.exists(name)) throw CheckpointError("checkpoint '" + f.path() + "' has no " + name);
}

// The dataset exists and is [rows x cols] (cols = 0: 1-D [rows]); else an error naming both.
void need_shape(const H5File& f, const std::string& name, uint64_t rows, uint64_t cols) {
  need(f, name);
  const auto d = f.dims(name);
  const bool ok = cols ? (d.size() == 2 && d[0] == rows && d[1] == cols) : (d.size() == 1 && d[0] == rows);
  if (ok) return;
  std::ostringstream msg;
  msg << "checkpoint '" << f.path() << "': " << name << " is [";
  for (size_t i = 0; i < d.size(); ++i) msg << (i ? "x" : "") << d[i];
  msg << "], this config needs [" << rows;
  if (cols) msg << "x" << cols;
  msg << "] (was it written for another model config?)";
  throw CheckpointError(msg.str());
}

// Reads an array whose shape must be [rows x cols] (cols = 0: 1-D [rows]).
template <typename T, typename A, typename Reader>
void get_array(const H5File& f, const std::string& name, std::vector<T, A>& out, uint64_t rows, uint64_t cols,
               Reader read) {
  need_shape(f, name, rows, cols);
  out.resize(rows * (cols ? cols : 1));
  read(name, out.data(), out.size());
  verify(f, name, out);
}

// This process's rows of a parameter array, read as `type` into `out` (elem_bytes each,
// [local rows x cols], cols = 0: 1-D), checked against the array's format 3 row checksum
// (summed over ranks for a sharded block: collective, every rank gets the same verdict)
// or, in older files, the whole-array checksum (unsharded blocks only).
void get_rows(const H5File& f, int64_t version, const std::string& name, hid_t type, void* out, size_t elem_bytes,
              const optim::RowShard& shard, uint64_t cols, const RowIo& io) {
  need_shape(f, name, shard.global_rows, cols);
  f.read_rows(name, type, out, elem_bytes, shard, cols);
  const size_t row_bytes = elem_bytes * (cols ? cols : 1);
  if (version < 3) {
    if (shard.sharded())
      throw CheckpointError("checkpoint '" + f.path() + "' has format version " + std::to_string(version) +
                            ", older than sharded tables: resume it with --dist.embedding replicated");
    verify_bytes(f, name, out, shard.local_rows() * row_bytes);
    return;
  }
  const std::string want = f.attr_string("checksum", name);
  const std::string got = util::checksum_hex(rows_checksum(out, shard, row_bytes, io));
  if (want != got)
    throw CheckpointError("checkpoint '" + f.path() + "': dataset " + name + " is damaged (checksum " + got +
                          ", stored " + want + ")");
}

// One array of a block, in the block's storage. A float array (weights, Adam moments) is
// read whatever float encoding the file holds (a run may resume with another
// optim.moments): bfloat16 widens exactly; float32 rounds to nearest. A converted array
// is read whole into a temporary first (its checksum covers the file's bytes), so
// switching costs that array's size in memory once.
void get_array_rows(const H5File& f, int64_t version, const std::string& name, const optim::BlockArray& a,
                    const optim::RowShard& shard, const RowIo& io) {
  if (a.size != shard.local_rows() * a.row_elems())
    throw std::logic_error("load_checkpoint: " + name + " is not allocated for this block's rows");
  need(f, name);
  const bool file_bf16 = a.type != optim::ElemType::Uint32 && f.is_u16(name);
  const bool want_bf16 = a.type == optim::ElemType::Bfloat16;
  if (a.type == optim::ElemType::Uint32 || file_bf16 == want_bf16) {
    get_rows(f, version, name, h5_type(a.type), a.data, a.elem_bytes, shard, a.cols, io);
  } else if (file_bf16) {
    optim::Bf16Array tmp(a.size);
    get_rows(f, version, name, H5T_NATIVE_UINT16, tmp.data(), sizeof(uint16_t), shard, a.cols, io);
    auto* out = static_cast<float*>(a.data);
    for (size_t i = 0; i < tmp.size(); ++i) out[i] = kernels::bf16_to_float(tmp[i]);
  } else {
    optim::FloatArray tmp(a.size);
    get_rows(f, version, name, H5T_NATIVE_FLOAT, tmp.data(), sizeof(float), shard, a.cols, io);
    auto* out = static_cast<uint16_t*>(a.data);
    for (size_t i = 0; i < tmp.size(); ++i) out[i] = kernels::bf16_from_float(tmp[i]);
  }
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}
std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

H5File open_file(const std::string& path) {
  try {
    return H5File::open_read(path);
  } catch (const H5Error& e) {
    throw CheckpointError(std::string(e.what()) + " (truncated or not a checkpoint?)");
  }
}

void check_header(const H5File& f) {
  const std::string& path = f.path();
  if (!f.has_attr("format") || f.attr_string("format") != kFormat)
    throw CheckpointError("'" + path + "' is not a sparsetrain checkpoint (no format = " + kFormat + " attribute)");
  const int64_t version = f.attr_int("format_version");
  if (version < kOldestReadableCheckpointVersion || version > kCheckpointFormatVersion)
    throw CheckpointError("checkpoint '" + path + "' has format version " + std::to_string(version) +
                          ", this build reads " + std::to_string(kOldestReadableCheckpointVersion) + " to " +
                          std::to_string(kCheckpointFormatVersion));
  if (!f.has_attr("complete") || f.attr_int("complete") != 1)
    throw CheckpointError("checkpoint '" + path + "' is incomplete (no complete = 1 marker)");
}

TrainState read_state(const H5File& f) {
  TrainState s;
  s.step = static_cast<uint64_t>(f.attr_int("step"));
  s.samples = static_cast<uint64_t>(f.attr_int("samples"));
  s.epoch = static_cast<uint64_t>(f.attr_int("epoch"));
  s.nranks = static_cast<uint64_t>(f.attr_int("nranks"));
  s.next_rebuild = static_cast<uint64_t>(f.attr_int("next_rebuild"));
  s.rebuild_interval = f.attr_double("rebuild_interval");
  s.elapsed_seconds = f.attr_double("elapsed_seconds");
  s.metrics_bytes = static_cast<uint64_t>(f.attr_int("metrics_bytes"));
  s.config_ini = f.attr_string("config");
  if (s.nranks == 0) throw CheckpointError("checkpoint '" + f.path() + "' says nranks = 0");
  need(f, "/data");
  s.inputs = split_lines(f.attr_string("inputs", "/data"));
  const auto read_u64 = [&](const std::string& name, std::vector<uint64_t>& out) {
    need(f, name);
    out = f.read_u64(name);
    verify(f, name, out);
  };
  read_u64("/data/input_sizes", s.input_sizes);
  if (s.input_sizes.size() != s.inputs.size())
    throw CheckpointError("checkpoint '" + f.path() + "': /data/input_sizes does not match the input list");
  std::vector<uint64_t> flat;
  read_u64("/data/remainders", flat);
  if (flat.size() % kRemainderCols != 0)
    throw CheckpointError("checkpoint '" + f.path() + "': /data/remainders is not [n x 8]");
  for (size_t i = 0; i < flat.size(); i += kRemainderCols) {
    const uint64_t* r = flat.data() + i;
    s.remainders.push_back({r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]});
    if (r[0] >= s.nranks || r[1] >= s.inputs.size() || r[4] == 0)
      throw CheckpointError("checkpoint '" + f.path() + "': /data/remainders row " +
                            std::to_string(i / kRemainderCols) + " is out of range");
  }
  need(f, "/train/window_loss_sum");
  s.window_loss_sum = f.read_f64("/train/window_loss_sum");
  verify(f, "/train/window_loss_sum", s.window_loss_sum);
  read_u64("/train/window_samples", s.window_samples);
  if (s.window_loss_sum.size() != s.nranks || s.window_samples.size() != s.nranks)
    throw CheckpointError("checkpoint '" + f.path() + "': /train arrays do not have nranks entries");
  return s;
}

}  // namespace

namespace {

// The root's attributes: what the checkpoint is, the loop's counters and the config.
void write_header(H5File& f, const model::Network& network, const TrainState& state) {
  f.set_attr("format", std::string(kFormat));
  f.set_attr("format_version", static_cast<int64_t>(kCheckpointFormatVersion));
  f.set_attr("step", static_cast<int64_t>(state.step));
  f.set_attr("samples", static_cast<int64_t>(state.samples));
  f.set_attr("epoch", static_cast<int64_t>(state.epoch));
  f.set_attr("nranks", static_cast<int64_t>(state.nranks));
  f.set_attr("next_rebuild", static_cast<int64_t>(state.next_rebuild));
  f.set_attr("rebuild_interval", state.rebuild_interval);
  f.set_attr("elapsed_seconds", state.elapsed_seconds);
  f.set_attr("metrics_bytes", static_cast<int64_t>(state.metrics_bytes));
  f.set_attr("parameter_count", static_cast<int64_t>(network.num_parameters()));
  f.set_attr("config", state.config_ini);
  f.set_attr("created", utc_now());
}

// /params/<block>/<array> for every array of every block (each rank its rows when sharded),
// and /lsh/<block>/w, the weights the tables were built from.
void write_arrays(H5File& f, const model::Network& network, const TableSnapshot& tables, const ParallelFile& pf) {
  f.create_group("/params");
  for (const auto& b : network.blocks()) {
    const std::string g = "/params/" + b.name;
    f.create_group(g);
    for (const optim::ConstBlockArray& a : optim::block_arrays(b)) {
      put_rows(f, g + "/" + a.name, a, b.shard, pf);
      if (a.type == optim::ElemType::Bfloat16) f.set_attr("encoding", std::string("bfloat16"), g + "/" + a.name);
    }
  }
  f.create_group("/lsh");
  for (const auto& t : tables.blocks()) {
    f.create_group("/lsh/" + t.name);
    put_floats(f, "/lsh/" + t.name + "/w", t.w, t.rows, t.cols);
  }
}

// /data (the inputs and every rank's remaining pieces) and /train (every rank's loss window).
void write_positions(H5File& f, const TrainState& state) {
  f.create_group("/data");
  f.set_attr("inputs", join_lines(state.inputs), "/data");
  put_u64(f, "/data/input_sizes", state.input_sizes);
  std::vector<uint64_t> flat;
  for (const auto& r : state.remainders)
    flat.insert(flat.end(), {r.rank, r.file, r.begin, r.end, r.stride, r.phase, r.offset, r.line_index});
  put_u64(f, "/data/remainders", flat, kRemainderCols);
  f.set_attr("columns", std::string("rank,file,begin,end,stride,phase,offset,line_index"), "/data/remainders");
  f.create_group("/train");
  put_f64(f, "/train/window_loss_sum", state.window_loss_sum);
  put_u64(f, "/train/window_samples", state.window_samples);
}

}  // namespace

void save_checkpoint(const std::string& path, const model::Network& network, const TableSnapshot& tables,
                     const TrainState& state, collective::Comm* comm) {
  if (state.window_loss_sum.size() != state.nranks || state.window_samples.size() != state.nranks ||
      state.inputs.size() != state.input_sizes.size())
    throw std::invalid_argument("save_checkpoint: inconsistent TrainState");
  const ParallelFile pf(comm, network);
  const std::string tmp = pf.temporary_name(path);
  try {
    H5File f = H5File::create(tmp, pf.fapl());
    write_header(f, network, state);
    write_arrays(f, network, tables, pf);
    write_positions(f, state);
    // Last: a reader only trusts a file that has this marker.
    f.set_attr("complete", static_cast<int64_t>(1));
    f.flush();
    f.close();
    pf.commit(tmp, path);
  } catch (const std::exception& e) {
    if (pf.io().writer) std::remove(tmp.c_str());
    throw CheckpointError("cannot write checkpoint '" + path + "': " + e.what());
  }
}

TrainState read_checkpoint_state(const std::string& path) { return read_checkpoint_state(open_file(path)); }

TrainState read_checkpoint_state(const H5File& f) {
  const std::string& path = f.path();
  try {
    check_header(f);
    return read_state(f);
  } catch (const H5Error& e) {
    throw CheckpointError(std::string("checkpoint '") + path + "' is unreadable: " + e.what());
  }
}

TrainState load_checkpoint(const std::string& path, model::Network& network, TableSnapshot& tables,
                           collective::Comm* comm) {
  return load_checkpoint(open_file(path), network, tables, comm);
}

TrainState load_checkpoint(const H5File& f, model::Network& network, TableSnapshot& tables, collective::Comm* comm) {
  const std::string& path = f.path();
  try {
    check_header(f);
    TrainState s = read_state(f);
    const int64_t version = f.attr_int("format_version");
    RowIo io;
    io.comm = comm;
    const int64_t count = f.attr_int("parameter_count");
    if (static_cast<uint64_t>(count) != network.num_parameters())
      throw CheckpointError("checkpoint '" + path + "' holds " + std::to_string(count) +
                            " parameters, this config's model has " + std::to_string(network.num_parameters()) +
                            " (was it written for another model config?)");
    const auto floats = [&](const std::string& n, float* d, uint64_t c) { f.read_floats(n, d, c); };
    for (auto& b : network.blocks()) {
      const std::string g = "/params/" + b.name;
      for (const optim::BlockArray& a : optim::block_arrays(b))
        get_array_rows(f, version, g + "/" + a.name, a, b.shard, io);
    }
    // Table sources: exactly the layers this network indexes.
    tables.capture(network);  // names and shapes; the weights are replaced below
    for (auto& t : tables.blocks()) get_array(f, "/lsh/" + t.name + "/w", t.w, t.rows, t.cols, floats);
    network.set_rebuild_schedule(s.next_rebuild, s.rebuild_interval);
    return s;
  } catch (const H5Error& e) {
    throw CheckpointError(std::string("checkpoint '") + path + "' is unreadable: " + e.what());
  }
}

// --- encode / decode: a flat little-endian byte string --------------------------

namespace {
struct Writer {
  std::string out;
  void u64(uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void f64(double v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    out += s;
  }
};
struct Reader {
  const std::string& in;
  size_t pos = 0;
  void need(size_t n) {
    if (pos + n > in.size()) throw CheckpointError("decode_state: truncated state");
  }
  template <typename T> T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, in.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  uint64_t u64() { return pod<uint64_t>(); }
  double f64() { return pod<double>(); }
  std::string str() {
    const uint64_t n = u64();
    need(n);
    std::string s = in.substr(pos, n);
    pos += n;
    return s;
  }
};
}  // namespace

std::string encode_state(const TrainState& s) {
  Writer w;
  w.u64(s.step), w.u64(s.samples), w.u64(s.epoch), w.u64(s.nranks);
  w.u64(s.next_rebuild), w.f64(s.rebuild_interval);
  w.f64(s.elapsed_seconds);
  w.u64(s.metrics_bytes);
  w.str(s.config_ini);
  w.u64(s.inputs.size());
  for (size_t i = 0; i < s.inputs.size(); ++i) w.str(s.inputs[i]), w.u64(s.input_sizes[i]);
  w.u64(s.remainders.size());
  for (const auto& r : s.remainders)
    for (uint64_t v : {r.rank, r.file, r.begin, r.end, r.stride, r.phase, r.offset, r.line_index}) w.u64(v);
  w.u64(s.window_loss_sum.size());
  for (size_t i = 0; i < s.window_loss_sum.size(); ++i) w.f64(s.window_loss_sum[i]), w.u64(s.window_samples[i]);
  return std::move(w.out);
}

TrainState decode_state(const std::string& bytes) {
  Reader r{bytes};
  TrainState s;
  s.step = r.u64(), s.samples = r.u64(), s.epoch = r.u64(), s.nranks = r.u64();
  s.next_rebuild = r.u64(), s.rebuild_interval = r.f64();
  s.elapsed_seconds = r.f64();
  s.metrics_bytes = r.u64();
  s.config_ini = r.str();
  const uint64_t files = r.u64();
  r.need(files);
  for (uint64_t i = 0; i < files; ++i) {
    s.inputs.push_back(r.str());
    s.input_sizes.push_back(r.u64());
  }
  const uint64_t n = r.u64();
  r.need(n * 64);
  for (uint64_t i = 0; i < n; ++i) {
    DataRemainder d;
    for (uint64_t* v : {&d.rank, &d.file, &d.begin, &d.end, &d.stride, &d.phase, &d.offset, &d.line_index})
      *v = r.u64();
    s.remainders.push_back(d);
  }
  const uint64_t p = r.u64();
  r.need(p * 16);
  for (uint64_t i = 0; i < p; ++i) {
    s.window_loss_sum.push_back(r.f64());
    s.window_samples.push_back(r.u64());
  }
  if (r.pos != bytes.size()) throw CheckpointError("decode_state: trailing bytes");
  return s;
}

}  // namespace sparsetrain::checkpoint
