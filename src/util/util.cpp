// The util module is mostly header-only; this file anchors its static library.
#include "sparsetrain/util/hash.h"
#include "sparsetrain/util/random.h"
