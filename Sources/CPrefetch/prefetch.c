// Everything is in include/CPrefetch.h (static inline); SwiftPM wants one source file per C target.
#include "CPrefetch.h"
