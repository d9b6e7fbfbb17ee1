#include "backend/cuda/cuda_launch.h"

#include <algorithm>
#include <string>

#include "zeroclip/error.h"

namespace zeroclip {

namespace {
constexpr int64_t kMaxGridX = 2147483647;  // 2^31 - 1
constexpr int64_t kMaxGridYZ = 65535;
}  // namespace

LaunchShape attention_launch(int batch, int seq, int heads, int head_dim) {
    if (head_dim < 1 || head_dim > kAttentionMaxHeadDim) {
        throw Error("CUDA attention: head_dim " + std::to_string(head_dim) + " outside 1.." +
                    std::to_string(kAttentionMaxHeadDim));
    }
    if (batch < 1 || seq < 1 || heads < 1 || heads > kMaxGridYZ) {
        throw Error("CUDA attention: invalid shape batch " + std::to_string(batch) + ", seq " +
                    std::to_string(seq) + ", heads " + std::to_string(heads));
    }
    const int64_t query_blocks = (seq + kAttentionQueries - 1) / kAttentionQueries;
    if (query_blocks * batch > kMaxGridX) throw Error("CUDA attention: batch too large for one launch");
    LaunchShape shape;
    shape.grid = {static_cast<unsigned>(query_blocks * batch), static_cast<unsigned>(heads), 1};
    shape.block = {32 * kAttentionQueries, 1, 1};
    // Keys padded by one float per row: lanes read different rows without bank conflicts.
    shape.shared_bytes = sizeof(float) * (size_t(kAttentionKeyTile) * (head_dim + 1) +
                                          size_t(kAttentionKeyTile) * head_dim +
                                          size_t(kAttentionQueries) * head_dim);
    return shape;
}

LaunchShape rows_launch(int64_t rows) {
    if (rows < 1 || (rows + kRowsPerBlock - 1) / kRowsPerBlock > kMaxGridX) {
        throw Error("CUDA row kernel: invalid row count " + std::to_string(rows));
    }
    LaunchShape shape;
    shape.grid = {static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock), 1, 1};
    shape.block = {32 * kRowsPerBlock, 1, 1};
    return shape;
}

LaunchShape elementwise_launch(size_t n) {
    constexpr size_t kThreads = 256, kMaxBlocks = 65536;  // grid-stride beyond
    LaunchShape shape;
    shape.grid = {static_cast<unsigned>(std::clamp<size_t>((n + kThreads - 1) / kThreads, 1, kMaxBlocks)), 1, 1};
    shape.block = {kThreads, 1, 1};
    return shape;
}

}  // namespace zeroclip
