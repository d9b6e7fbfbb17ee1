// cuda_launch.h - grid shapes of the CUDA kernels, computed (and bounded) on the host.
//
// Plain C++ so that the shapes and their limits are unit-tested on machines without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zeroclip {

struct LaunchDims {
    unsigned x = 1, y = 1, z = 1;
};

struct LaunchShape {
    LaunchDims grid;
    LaunchDims block;
    size_t shared_bytes = 0;
};

// Attention: one warp per query, kAttentionQueries queries per block sharing key/value tiles of
// kAttentionKeyTile positions in shared memory; each lane owns head_dim / 32 output columns.
constexpr int kAttentionQueries = 8;
constexpr int kAttentionKeyTile = 32;
constexpr int kAttentionMaxHeadDim = 128;

// grid.x = query blocks x batch (x has the largest limit), grid.y = heads. Throws zeroclip::Error
// when head_dim is outside 1..kAttentionMaxHeadDim or the grid would overflow.
LaunchShape attention_launch(int batch, int seq, int heads, int head_dim);

// Row-wise kernels (LayerNorm): one warp per row, kRowsPerBlock rows per block.
constexpr int kRowsPerBlock = 8;
LaunchShape rows_launch(int64_t rows);

// Element-wise kernels: grid-stride loops over n elements with 256-thread blocks.
LaunchShape elementwise_launch(size_t n);

}  // namespace zeroclip
