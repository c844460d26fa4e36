// The OpenMP runtime calls of the linked sources, for one thread: the SMPI build keeps
// OpenMP out (SimGrid runs every simulated rank in one process, and an OpenMP team inside a
// simulated rank would run outside the simulation's clock). Without -fopenmp the pragmas
// are ignored, so these answer the few direct calls as a serial program would.
#include <omp.h>

extern "C" {
int omp_get_max_threads(void) { return 1; }
int omp_get_num_threads(void) { return 1; }
int omp_get_thread_num(void) { return 0; }
int omp_in_parallel(void) { return 0; }
void omp_set_num_threads(int) {}
}
