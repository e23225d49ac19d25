// Everything is in include/CHalfPrecision.h (static inline); SwiftPM wants one source file per C target.
#include "CHalfPrecision.h"
