// Compiled by the CTest `layering.upward_include_fails` against the ops layer's include root:
// the first include resolves, the second (a layer above ops) must not (csrc/CMakeLists.txt).
#include "ops/ops.h"
#include "engine/engine.h"
