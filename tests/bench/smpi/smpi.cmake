# The scaling simulation driver (tests/bench/smpi/README.md), built with
# -DSPARSETRAIN_SMPI=ON; not part of the default build or of CI.
#   smpi_scaling      the driver compiled as smpicxx would (SimGrid's SMPI headers, -fPIC,
#                     a shared object linked to libsimgrid), run by smpirun;
#   smpi_scaling_mpi  the same source on the real Open MPI, run by mpirun (calibration).
# The SMPI target compiles the project's sources itself: the st_* libraries are built
# against Open MPI's mpi.h and with OpenMP, neither of which may enter an SMPI program.
find_program(SMPIRUN smpirun REQUIRED)
find_library(SIMGRID_LIBRARY simgrid REQUIRED)
find_path(SMPI_INCLUDE_DIR smpi/smpi.h REQUIRED)

set(ST_SMPI_SOURCES
    src/util/util.cpp src/util/auc.cpp
    src/kernels/denormals.cpp src/kernels/kernels.cpp src/kernels/scalar.cpp src/kernels/kernels_avx512.cpp
    src/optim/optimizer.cpp src/optim/param_block.cpp
    src/collective/comm.cpp src/collective/gradient_exchange.cpp src/collective/row_merge.cpp
    src/embedding/batch_rows.cpp src/embedding/sharded_table.cpp
    src/data/featurizer.cpp
    src/synth/synth.cpp src/synth/criteo_profile.cpp)
list(TRANSFORM ST_SMPI_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/)

add_library(smpi_scaling SHARED tests/bench/smpi/smpi_scaling.cpp tests/bench/smpi/omp_stub.cpp ${ST_SMPI_SOURCES})
set_target_properties(smpi_scaling PROPERTIES PREFIX "" SUFFIX "")
target_include_directories(smpi_scaling PRIVATE ${SMPI_INCLUDE_DIR}/smpi ${PROJECT_SOURCE_DIR}/include)
target_compile_definitions(smpi_scaling PRIVATE SPARSETRAIN_SMPI)
target_compile_options(smpi_scaling PRIVATE -include ${SMPI_INCLUDE_DIR}/smpi/smpi_helpers.h -Wno-unknown-pragmas)
target_link_libraries(smpi_scaling PRIVATE ${SIMGRID_LIBRARY} ZLIB::ZLIB -Wl,-z,defs)
set_source_files_properties(${PROJECT_SOURCE_DIR}/src/kernels/kernels_avx512.cpp TARGET_DIRECTORY smpi_scaling
                            PROPERTIES COMPILE_OPTIONS "${ST_AVX512_FLAGS}")

add_executable(smpi_scaling_mpi tests/bench/smpi/smpi_scaling.cpp)
target_link_libraries(smpi_scaling_mpi PRIVATE st_collective st_embedding st_synth st_data)

# The simulated platforms (hpc7a cluster, this VM) as a SimGrid platform plugin.
add_library(cluster_platform SHARED tests/bench/smpi/platforms/cluster_platform.cpp)
set_target_properties(cluster_platform PROPERTIES PREFIX "")
target_include_directories(cluster_platform PRIVATE ${SMPI_INCLUDE_DIR})
target_link_libraries(cluster_platform PRIVATE ${SIMGRID_LIBRARY})
