#include "sparsetrain/collective/h5_mpio.h"

#include <mpi.h>

#include <stdexcept>

namespace sparsetrain::collective {

hid_t h5_file_access(const Comm& comm) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) throw std::runtime_error("HDF5: cannot create a file access property list");
  if (comm.uses_mpi() && H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL) < 0) {
    H5Pclose(fapl);
    throw std::runtime_error("HDF5: H5Pset_fapl_mpio failed (is this HDF5 built for MPI?)");
  }
  return fapl;
}

hid_t h5_transfer(const Comm& comm) {
  const hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  if (dxpl < 0) throw std::runtime_error("HDF5: cannot create a transfer property list");
  if (comm.uses_mpi() && H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0) {
    H5Pclose(dxpl);
    throw std::runtime_error("HDF5: H5Pset_dxpl_mpio failed");
  }
  return dxpl;
}

}  // namespace sparsetrain::collective
