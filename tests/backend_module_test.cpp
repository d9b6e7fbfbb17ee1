// The CUDA backend as a module of its own (src/backend/backend_module.h): CPU work never maps it
// (nor cuBLASLt), `--device cuda` without it is a one-line error naming it, `--device auto` then
// stays on the CPU, and errors thrown inside it reach the core as zeroclip::Error.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "backend/backend.h"
#include "backend/backend_module.h"
#include "test_support.h"
#include "zeroclip/error.h"
#include "zeroclip/model.h"

namespace zeroclip {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFreshProcess = "ZEROCLIP_TEST_FRESH_PROCESS";

bool in_fresh_process() {
    const char* env = std::getenv(kFreshProcess);
    return env && std::string(env) == "1";
}

// Whether a file whose name contains `name` is mapped into this process.
bool mapped(const std::string& name) { return test::read_file("/proc/self/maps").find(name) != std::string::npos; }

// Runs this test program once more with only `test_name`, in a process of its own: the tests
// before it in this process may have loaded the module.
test::CliResult run_fresh(const std::string& test_name) {
    const fs::path self = fs::read_symlink("/proc/self/exe");
    const std::string command = std::string(kFreshProcess) + "=1 " + test::shell_quote(self.string()) +
                                " --gtest_filter=" + test_name + " 2>&1";
    test::CliResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return result;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
    const int raw = ::pclose(pipe);
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return result;
}

fs::path fixture_model() { return test::fixtures_dir() / "models" / "clip-f32-quickgelu"; }

TEST(BackendModule, CpuWorkDoesNotLoadIt) {
    if (!in_fresh_process()) {
        const test::CliResult fresh = run_fresh("BackendModule.CpuWorkDoesNotLoadIt");
        EXPECT_EQ(fresh.status, 0) << fresh.out;
        EXPECT_NE(fresh.out.find("[  PASSED  ] 1 test"), std::string::npos) << fresh.out;
        return;
    }
    ModelOptions options;
    options.device = Device::Cpu;
    auto model = ClipModel::load(fixture_model(), options);
    const auto& text = model->config().text;
    const Matrix embeds = model->encode_texts({{text.bos_token_id, 5, 6, text.eos_token_id}});
    EXPECT_EQ(embeds.rows, 1);
    EXPECT_EQ(make_backend(Device::Cpu, Precision::Fp32, 1)->name(), "cpu");
    EXPECT_FALSE(backend_module_loaded("cuda"));
    EXPECT_FALSE(mapped("libzeroclip-cuda")) << test::read_file("/proc/self/maps");
    EXPECT_FALSE(mapped("libcublas")) << test::read_file("/proc/self/maps");
#ifdef ZEROCLIP_HAVE_CUDA
    // The check sees a module once something asks for the GPU.
    const DeviceProbe probe = probe_cuda();
    ASSERT_FALSE(probe.module_missing) << probe.error;
    EXPECT_TRUE(backend_module_loaded("cuda"));
    EXPECT_TRUE(mapped("libzeroclip-cuda.so"));
    EXPECT_TRUE(mapped("libcublasLt"));
#endif
}

TEST(BackendModule, ProgramsDoNotLinkGpuLibraries) {
    // The programs' own dependencies (DT_NEEDED): a CPU run loads nothing else up front.
    const fs::path dir = fs::temp_directory_path() / ("zeroclip_module_elf_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string command = "readelf -d " + test::shell_quote(test::cli_path().string()) + " > " +
                                test::shell_quote((dir / "dynamic").string()) + " 2>&1";
    if (std::system(command.c_str()) != 0) {
        fs::remove_all(dir);
        GTEST_SKIP() << "readelf (binutils) is not available";
    }
    const std::string dynamic = test::read_file(dir / "dynamic");
    fs::remove_all(dir);
    ASSERT_NE(dynamic.find("(NEEDED)"), std::string::npos) << dynamic;
    EXPECT_EQ(dynamic.find("libcublas"), std::string::npos) << dynamic;
    EXPECT_EQ(dynamic.find("libcudart"), std::string::npos) << dynamic;
    EXPECT_EQ(dynamic.find("libzeroclip-cuda"), std::string::npos) << dynamic;
}

TEST(BackendModule, MissingModuleIsAOneLineError) {
    const fs::path dir = fs::temp_directory_path() / ("zeroclip_module_missing_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string model = fixture_model().string();
    const std::string out = (dir / "t.npy").string();
    const fs::path empty_dir = dir / "no-modules-here";
    fs::create_directories(empty_dir);
    const fs::path not_a_module = dir / "libzeroclip-cuda.so";
    test::write_file(not_a_module, "not an ELF file\n");

    const std::string missing = "ZEROCLIP_BACKEND_PATH=" + test::shell_quote(empty_dir.string());
    auto r = test::run_cli({"embed", "-m", model, "-o", out, "--device", "cuda", "--text", "a cat"}, dir / "err",
                           missing);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
#ifdef ZEROCLIP_HAVE_CUDA
    EXPECT_NE(r.err.find("device cuda: cannot load libzeroclip-cuda.so: not found"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find((empty_dir / "libzeroclip-cuda.so").string()), std::string::npos) << r.err;

    // A file that is not a module: dlopen's reason, on one line.
    r = test::run_cli({"embed", "-m", model, "-o", out, "--device", "cuda", "--text", "a cat"}, dir / "err",
                      "ZEROCLIP_BACKEND_PATH=" + test::shell_quote(not_a_module.string()));
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("device cuda: cannot load libzeroclip-cuda.so: " + not_a_module.string()),
              std::string::npos)
        << r.err;
#else
    EXPECT_NE(r.err.find("built without CUDA"), std::string::npos) << r.err;
#endif
    // auto stays on the CPU, silently.
    r = test::run_cli({"embed", "-m", model, "-o", out, "--device", "auto", "--text", "a cat"}, dir / "err",
                      missing);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_TRUE(fs::exists(out));
    fs::remove_all(dir);
}

TEST(BackendModule, OnlyTheCpuBackendIsLinkedIn) {
    ASSERT_EQ(backend_factories().size(), 1u);
    EXPECT_EQ(backend_factories().front().name, "cpu");
    EXPECT_EQ(backend_module_file("cuda"), "libzeroclip-cuda.so");
}

#ifdef ZEROCLIP_HAVE_CUDA
TEST(BackendModule, ErrorsFromTheModuleAreZeroclipErrors) {
    // Found beside this test program, as beside the zeroclip program.
    const BackendFactory* cuda = find_backend("cuda");
    ASSERT_NE(cuda, nullptr) << load_backend_module("cuda").error;
    EXPECT_EQ(cuda->name, "cuda");
    BackendSettings int8;
    int8.precision = Precision::Int8;  // refused before any CUDA call, so without a GPU too
    try {
        cuda->create(int8);
        ADD_FAILURE() << "the CUDA backend accepted int8";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("int8 is not supported"), std::string::npos) << e.what();
    }
}
#endif

}  // namespace
}  // namespace zeroclip
