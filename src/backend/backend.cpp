// The backend-independent helpers of backend.h: scratch buffers and the host edges of a tower.
#include "backend/backend.h"

namespace zeroclip {

PostOp post_op_for(Activation activation) {
    switch (activation) {
    case Activation::QuickGelu: return PostOp::QuickGelu;
    case Activation::Gelu: return PostOp::Gelu;
    case Activation::GeluTanh: return PostOp::GeluTanh;
    }
    return PostOp::None;
}

Tensor Backend::reserve(Buffer& buffer, int64_t rows, int cols, TensorType type) {
    const Tensor tensor{nullptr, rows, cols, type};
    const size_t bytes = tensor.bytes();
    if (!buffer.memory || buffer.memory->bytes < bytes) {
        buffer.memory.reset();  // the old allocation goes first: peak memory stays one buffer
        buffer.memory = allocate(bytes);
    }
    return {buffer.memory->data, rows, cols, type};
}

Tensor Backend::input(const void* host, int64_t rows, int cols, TensorType type, Buffer& staging) {
    if (host_memory()) return {const_cast<void*>(host), rows, cols, type};
    const Tensor tensor = reserve(staging, rows, cols, type);
    upload(host, tensor);
    return tensor;
}

Tensor Backend::output(float* host, int64_t rows, int cols, Buffer& staging) {
    if (host_memory()) return host_tensor(host, rows, cols);
    return reserve(staging, rows, cols, TensorType::F32);
}

void Backend::fetch_output(const Tensor& tensor, float* host) {
    if (tensor.data != host) download(tensor, host);
}

LayerNorm Backend::layer_norm_constant(const float* gamma, const float* beta, int n, float eps) {
    return {constant(gamma, 1, n), constant(beta, 1, n), eps};
}

}  // namespace zeroclip
