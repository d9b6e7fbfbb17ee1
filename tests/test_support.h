// Test helpers: where the project's fixtures and the optional ../shared data live.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

namespace zeroclip::test {

inline std::filesystem::path source_dir() { return ZEROCLIP_SOURCE_DIR; }
inline std::filesystem::path fixtures_dir() { return source_dir() / "tests" / "fixtures"; }
inline std::filesystem::path cli_path() { return ZEROCLIP_CLI_PATH; }

// ../shared beside the checkout (or $ZEROCLIP_SHARED); absent on a user's fresh clone.
inline std::optional<std::filesystem::path> shared_dir() {
    std::filesystem::path dir;
    if (const char* env = std::getenv("ZEROCLIP_SHARED")) dir = env;
    else dir = source_dir().parent_path() / "shared";
    if (std::filesystem::exists(dir / "conformance")) return dir;
    return std::nullopt;
}

}  // namespace zeroclip::test

// Skips the current test, with a message, when ../shared is absent.
#define ZEROCLIP_REQUIRE_SHARED(var)                                                   \
    auto var##_opt = ::zeroclip::test::shared_dir();                                   \
    if (!var##_opt) GTEST_SKIP() << "../shared not found (set ZEROCLIP_SHARED); skipped"; \
    const std::filesystem::path var = *var##_opt
