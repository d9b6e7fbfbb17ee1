// The one place that decides the ISA (src/backend/cpu/cpu_isa.h) against GCC's own CPU detection and
// the cap in the environment (tests/cpu_expectations.h), so that both ctest runs check it.
#include <gtest/gtest.h>

#include "backend/cpu/cpu_isa.h"
#include "cpu_expectations.h"

namespace zeroclip {
namespace {

TEST(CpuIsa, FeaturesFollowTheCpuAndTheCap) {
    EXPECT_EQ(cpu_has(CpuIsa::Avx2), test::cpu_allows_avx2());
    EXPECT_EQ(cpu_has(CpuIsa::Avx512Core), test::cpu_allows_avx512());
    EXPECT_EQ(cpu_has(CpuIsa::Avx512CoreBf16), test::cpu_runs_bf16());
    const CpuIsa expected_kernels = test::cpu_allows_avx512() ? CpuIsa::Avx512Core
                                    : test::cpu_allows_avx2() ? CpuIsa::Avx2
                                                              : CpuIsa::Sse41;
    EXPECT_EQ(cpu_isa_name(kernel_isa()), cpu_isa_name(expected_kernels));
    const std::string cap = test::isa_cap();
    EXPECT_EQ(cpu_isa_name(cpu_isa_cap()), cap.empty() ? "ALL" : cap);
    EXPECT_FALSE(cpu_has(CpuIsa::All));  // not a real level
}

}  // namespace
}  // namespace zeroclip
