// Runs the chunks of a short loop (a few microseconds of work, such as one mv over a 1 MB matrix)
// on the calling thread and on one helper thread when that helper is awake, without ever waiting
// for a helper that is asleep (chunk_helper.cpp says why OpenMP's team does not fit here).
#pragma once
#include <cstdint>

namespace cg::kernels {

using ChunkFn = void (*)(const void* ctx, int64_t chunk);

// Calls fn(ctx, c) once for every c in [0, n), on this thread and, if this thread's helper claims
// some, on the helper; returns when all are done. Which thread runs a chunk is not fixed: each
// chunk must write its own outputs, so the results do not depend on it.
void run_chunks(int64_t n, ChunkFn fn, const void* ctx);

}  // namespace cg::kernels
