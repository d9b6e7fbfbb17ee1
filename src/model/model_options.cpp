// Precision and device names as the command line, the cache keys and the Python module spell them.
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {

std::string precision_name(Precision precision) {
    switch (precision) {
    case Precision::Fp32: break;
    case Precision::Bf16: return "bf16";
    case Precision::Int8: return "int8";
    }
    return "fp32";
}

Precision parse_precision(const std::string& name) {
    if (name == "fp32") return Precision::Fp32;
    if (name == "bf16") return Precision::Bf16;
    if (name == "int8") return Precision::Int8;
    throw Error("unknown precision '" + name + "' (fp32, bf16, int8)", ErrorKind::InvalidInput);
}

Device parse_device(const std::string& name) {
    if (name == "cpu") return Device::Cpu;
    if (name == "cuda") return Device::Cuda;
    if (name == "auto") return Device::Auto;
    throw Error("unknown device '" + name + "' (cpu, cuda, auto)", ErrorKind::InvalidInput);
}

}  // namespace zeroclip
