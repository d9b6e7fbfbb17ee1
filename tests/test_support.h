// Test helpers: where the project's fixtures and the optional ../shared data live.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zeroclip/model.h"

namespace zeroclip::test {

inline std::filesystem::path source_dir() { return ZEROCLIP_SOURCE_DIR; }
inline std::filesystem::path fixtures_dir() { return source_dir() / "tests" / "fixtures"; }
// $ZEROCLIP_CLI overrides the program under test (e.g. an older build, to see a regression test fail).
inline std::filesystem::path cli_path() {
    const char* env = std::getenv("ZEROCLIP_CLI");
    return env && *env ? env : ZEROCLIP_CLI_PATH;
}

// ../shared beside the checkout (or $ZEROCLIP_SHARED); absent on a user's fresh clone.
inline std::optional<std::filesystem::path> shared_dir() {
    std::filesystem::path dir;
    if (const char* env = std::getenv("ZEROCLIP_SHARED")) dir = env;
    else dir = source_dir().parent_path() / "shared";
    if (std::filesystem::exists(dir / "conformance")) return dir;
    return std::nullopt;
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
    const std::string bytes = read_file(path);
    return {bytes.begin(), bytes.end()};
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string shell_quote(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

struct CliResult {
    int status = -1;  // exit status, or 128 + signal
    std::string out;
    std::string err;
};

// Runs the zeroclip program with `args`; stderr goes through `stderr_file`. `env` is put in
// front of the command line (e.g. "env -u HF_TOKEN HF_HUB_OFFLINE=1").
inline CliResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& stderr_file,
                         const std::string& env = "") {
    std::string command = env.empty() ? "" : env + " ";
    command += shell_quote(cli_path().string());
    for (const auto& arg : args) command += " " + shell_quote(arg);
    command += " 2>" + shell_quote(stderr_file.string());
    CliResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return result;
    std::array<char, 4096> buffer;
    for (size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
        result.out.append(buffer.data(), n);
    const int raw = ::pclose(pipe);
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    result.err = read_file(stderr_file);
    return result;
}

using Rows = std::vector<std::vector<double>>;

inline Rows rows_of(const nlohmann::json& rows) { return rows.get<Rows>(); }

inline Rows rows_of(const Matrix& m) {
    Rows rows(m.rows);
    for (int r = 0; r < m.rows; ++r) rows[r].assign(m.row(r), m.row(r) + m.cols);
    return rows;
}

// How closely embeddings agree with a reference: the worst row's cosine similarity and
// max |actual - expected| / max |expected|. Checks (non-fatally) that the shapes match.
struct Agreement {
    double min_cosine = 1.0;
    double max_rel_error = 0.0;
};

inline Agreement compare_rows(const Matrix& actual, const Rows& expected) {
    Agreement result;
    EXPECT_EQ(actual.rows, static_cast<int>(expected.size()));
    for (int r = 0; r < actual.rows && r < static_cast<int>(expected.size()); ++r) {
        EXPECT_EQ(actual.cols, static_cast<int>(expected[r].size()));
        double dot = 0, na = 0, nb = 0, max_err = 0, max_expected = 0;
        for (int c = 0; c < actual.cols && c < static_cast<int>(expected[r].size()); ++c) {
            const double a = actual.row(r)[c], b = expected[r][c];
            dot += a * b;
            na += a * a;
            nb += b * b;
            max_err = std::max(max_err, std::fabs(a - b));
            max_expected = std::max(max_expected, std::fabs(b));
        }
        result.min_cosine = std::min(result.min_cosine, dot / std::sqrt(na * nb));
        result.max_rel_error = std::max(result.max_rel_error, max_err / max_expected);
    }
    return result;
}

// Largest |logit_scale * cos(image_i, text_t) - expected[i][t]| over all pairs, as
// transformers' logits_per_image would be compared.
inline double max_logit_error(const Matrix& images, const Matrix& texts, float logit_scale,
                              const Rows& expected) {
    double worst = 0;
    for (int i = 0; i < images.rows; ++i) {
        for (int t = 0; t < texts.rows; ++t) {
            double dot = 0, ni = 0, nt = 0;
            for (int c = 0; c < images.cols; ++c) {
                dot += double(images.row(i)[c]) * texts.row(t)[c];
                ni += double(images.row(i)[c]) * images.row(i)[c];
                nt += double(texts.row(t)[c]) * texts.row(t)[c];
            }
            worst = std::max(worst, std::fabs(logit_scale * dot / std::sqrt(ni * nt) - expected[i][t]));
        }
    }
    return worst;
}

// max |actual - expected| relative to max |expected|: a float kernel against a double reference.
inline double max_relative_error(const std::vector<float>& actual, const std::vector<double>& expected) {
    double worst = 0, scale = 0;
    for (size_t k = 0; k < expected.size(); ++k) {
        worst = std::max(worst, std::fabs(actual[k] - expected[k]));
        scale = std::max(scale, std::fabs(expected[k]));
    }
    return worst / scale;
}

}  // namespace zeroclip::test

// Skips the current test, with a message, when ../shared is absent.
#define ZEROCLIP_REQUIRE_SHARED(var)                                                   \
    auto var##_opt = ::zeroclip::test::shared_dir();                                   \
    if (!var##_opt) GTEST_SKIP() << "../shared not found (set ZEROCLIP_SHARED); skipped"; \
    const std::filesystem::path var = *var##_opt
