#pragma once
// The two HDF5 objects that take MPI handles, so that MPI stays in this module: a file
// access property list for parallel HDF5 (MPI-IO on the world communicator) and a
// transfer property list for collective writes. The checkpoint module uses them to
// have every rank write its own rows of one file. The caller closes both (H5Pclose).
#include <hdf5.h>

#include "sparsetrain/collective/comm.h"

namespace sparsetrain::collective {

// MPI-IO file access when `comm` is a real MPI world; the default (POSIX) access otherwise.
hid_t h5_file_access(const Comm& comm);
// Collective transfers when `comm` is a real MPI world; independent ones otherwise.
hid_t h5_transfer(const Comm& comm);

}  // namespace sparsetrain::collective
