// The simulated platforms of scripts/simulate_scaling.sh, as a SimGrid platform plugin
// (smpirun -platform cluster_platform.so). C++ rather than XML because a node must be a
// zone of its own (one host per rank, each with its own shared-memory link, behind the
// node's network card) inside a fat tree, which the XML <cluster> tag cannot express: its
// intra-node "loopback" is a fat pipe that gives every flow the full bandwidth, so 12 ranks
// of a node would copy 12 times faster than one.
//
// ST_SIM_PLATFORM selects the platform (default hpc7a); ST_SIM_* variables override single
// values (they are printed by the script). Every rank is one host with one core.
//
// hpc7a (ThirdAI's layout on AWS hpc7a, the cluster of scripts/COST_MODEL.md):
//   ranks per node  12 (x 4 cores: 48 of the node's cores): ThirdAI's 48 ranks = 4 nodes.
//                   An hpc7a instance has 2 x 96 physical cores (4th-gen AMD EPYC, Genoa; the
//                   48xlarge size enables 96 of them), https://aws.amazon.com/blogs/hpc/
//                   optimizing-mpi-application-performance-on-hpc7a-by-effectively-using-both-efa-devices/
//   rank speed      3.6 Gflop/s, run with smpi/host-speed 1 Gf: a rank computes 3.6x as fast
//                   as one thread of the dev VM that measured the costs, i.e. 4 threads at the
//                   parallel efficiency 0.9 measured there at 2 threads. ASSUMED: a Genoa
//                   core runs the code as fast as the dev VM's AMD EPYC core.
//   node NIC        300 Gbit/s = 37.5 GB/s per node, full duplex, shared by the node's ranks:
//                   hpc7a's EFA, two network cards of 150 Gbit/s (same AWS blog; MPI must be
//                   set up to use both). It is the node's link into the fat tree.
//   fat tree        two levels, 8 nodes per leaf switch, 16 leaves, 8 spines, every link at
//                   the NIC's bandwidth, so leaves have as much bandwidth up as down
//                   (ASSUMED non-blocking: AWS does not publish the EFA fabric). 128 nodes
//                   = 1,536 ranks.
//   latency         3.75 us per fat-tree link: between nodes on different leaves a message
//                   crosses 4 links = 15 us, the mid-range of osu_latency over EFA (18.0 us on
//                   c5n.18xlarge with Open MPI, aws-parallelcluster's reference results;
//                   9.9 us on hpc6a with Intel MPI, aws-parallelcluster issue 6449); on one
//                   leaf 7.5 us.
//   shared memory   per rank 10 GB/s each way (one core's copy rate, measured on the dev VM:
//                   scripts/COST_MODEL.md mem_gbps) and 0.2 us per link, i.e. 0.4 us between
//                   two ranks of a node (osu_latency on one hpc6a node: 0.35 us with libfabric
//                   shm, ofiwg/libfabric pull request 8680). Traffic to other nodes does not
//                   cross it (the NIC moves the rank's memory itself).
// vm (the dev VM, for calibrating against real mpirun runs of the same driver):
//   one node, ST_SIM_RANKS ranks sharing its 2 cores: each rank runs at 2 / ranks of a core
//   (1 Gf at most); shared memory 14 GB/s per rank each way and 0.5 us between two ranks:
//   Open MPI's MPI_Alltoallv between 2 ranks here moved 12.9 GB/s per rank at 0.7 MB per
//   peer and 16.1 GB/s at 7 MB (warm buffers, best of 9), and 16 B in under 1 us.
// Both platforms are meant to be run with SMPI's latency and bandwidth correction factors
// set to 1 (smpi/lat-factor:0:1, smpi/bw-factor:0:1): the figures above are end-to-end MPI
// measurements, and SMPI's default factors were fitted to another cluster (they multiply a
// 20 KB message's latency by 3.5).
#include <simgrid/s4u.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace sg4 = simgrid::s4u;

namespace {

double env_or(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : fallback;
}

struct Shape {
  unsigned ranks_per_node;
  double rank_flops, shm_bytes_per_s, shm_lat_s;
  double nic_bytes_per_s, link_lat_s;
};

Shape shape_from_env(bool vm) {
  Shape s{};
  if (vm) {
    const double ranks = env_or("ST_SIM_RANKS", 2);
    s.ranks_per_node = static_cast<unsigned>(ranks);
    s.rank_flops = 1e9 * std::min(1.0, env_or("ST_SIM_CORES", 2) / ranks);
    s.shm_bytes_per_s = env_or("ST_SIM_SHM_GBPS", 14) * 1e9;
    s.shm_lat_s = env_or("ST_SIM_SHM_LAT_US", 0.5) * 1e-6 / 2;
  } else {
    s.ranks_per_node = static_cast<unsigned>(env_or("ST_SIM_RANKS_PER_NODE", 12));
    s.rank_flops = env_or("ST_SIM_RANK_GFLOPS", 3.6) * 1e9;
    s.shm_bytes_per_s = env_or("ST_SIM_SHM_GBPS", 10) * 1e9;
    s.shm_lat_s = env_or("ST_SIM_SHM_LAT_US", 0.4) * 1e-6 / 2;
  }
  s.nic_bytes_per_s = env_or("ST_SIM_NIC_GBIT", 300) * 1e9 / 8;
  s.link_lat_s = env_or("ST_SIM_LINK_LAT_US", 3.75) * 1e-6;
  return s;
}

// One node: a zone of one host per rank. Two ranks of the node exchange through both ranks'
// shared-memory links (one core copies out, the other in); traffic to other nodes leaves
// through the gateway, the node's end of its NIC link, without a copy (EFA reads and
// writes the ranks' memory directly), so a rank of many threads can use the whole NIC.
std::pair<simgrid::kernel::routing::NetPoint*, simgrid::kernel::routing::NetPoint*> create_node(sg4::NetZone* parent,
                                                                                                unsigned long id,
                                                                                                const Shape& s) {
  const std::string name = "node-" + std::to_string(id);
  sg4::NetZone* node = sg4::create_full_zone(name);
  node->set_parent(parent);
  simgrid::kernel::routing::NetPoint* gateway = node->create_router(name + "-gw");
  // SimGrid wants a link on every route: the NIC's access to memory, a fat pipe at the
  // node's DRAM bandwidth (ASSUMED 600 GB/s, 65% of 2 sockets x 12 DDR5-4800 channels), so
  // never the bottleneck.
  const sg4::Link* dma =
      node->create_link(name + "-dma", 600e9)->set_sharing_policy(sg4::Link::SharingPolicy::FATPIPE)->seal();
  std::vector<const sg4::Host*> hosts;
  std::vector<const sg4::Link*> shm;
  for (unsigned r = 0; r < s.ranks_per_node; ++r) {
    const std::string host_name = name + "-" + std::to_string(r);
    hosts.push_back(node->create_host(host_name, s.rank_flops)->seal());
    shm.push_back(
        node->create_split_duplex_link(host_name + "-shm", s.shm_bytes_per_s)->set_latency(s.shm_lat_s)->seal());
    node->add_route(hosts[r]->get_netpoint(), gateway, nullptr, nullptr, {sg4::LinkInRoute(dma)}, true);
  }
  using Dir = sg4::LinkInRoute::Direction;
  for (unsigned a = 0; a < s.ranks_per_node; ++a)
    for (unsigned b = a + 1; b < s.ranks_per_node; ++b)
      node->add_route(hosts[a]->get_netpoint(), hosts[b]->get_netpoint(), nullptr, nullptr,
                      {sg4::LinkInRoute(shm[a], Dir::UP), sg4::LinkInRoute(shm[b], Dir::DOWN)}, true);
  node->seal();
  return {node->get_netpoint(), gateway};
}

}  // namespace

extern "C" void load_platform(const sg4::Engine& /*engine*/);
void load_platform(const sg4::Engine& /*engine*/) {
  const char* which = std::getenv("ST_SIM_PLATFORM");
  const bool vm = which && std::string(which) == "vm";
  const Shape s = shape_from_env(vm);
  if (vm) {
    sg4::NetZone* root = sg4::create_full_zone("vm");
    create_node(root, 0, s);
    root->seal();
    return;
  }
  const sg4::FatTreeParams tree(2, {8, 16}, {1, 8}, {1, 1});
  sg4::create_fatTree_zone("hpc7a", nullptr, tree,
                           sg4::ClusterCallbacks([&s](sg4::NetZone* zone, const std::vector<unsigned long>&,
                                                      unsigned long id) { return create_node(zone, id, s); }),
                           s.nic_bytes_per_s, s.link_lat_s, sg4::Link::SharingPolicy::SPLITDUPLEX)
      ->seal();
}
