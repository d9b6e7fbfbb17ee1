// zeroclip bench: throughput of one tower on synthetic input, after a warm-up batch.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "backend/cpu/cpu_peak.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "models/registry.h"
#include "zeroclip/zeroclip.h"
#include "util/json_text.h"

namespace zeroclip::cli {

namespace {

struct BenchOptions {
    RunOptions run;
    int items = 0;  // 0: four batches
    std::string tower = "image";
    bool json = false;
    bool peak = false;
};

// Prompts shaped like zero-shot class prompts ("a photo of a {label}."): 7 to 20 tokens.
std::vector<std::string> synthetic_prompts(int count) {
    static const char* const templates[] = {
        "a photo of a {}.", "a bad photo of the {}.", "a sculpture of a {}.",
        "a rendering of a {}.", "graffiti of the {}.", "a cropped photo of the {}.",
        "a tattoo of a {}.", "a bright photo of a {}.", "a photo of a clean {}.",
        "a black and white photo of the {}.", "a pixelated photo of the {}.", "itap of a {}."};
    static const char* const labels[] = {
        "tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark", "electric ray",
        "English springer", "cassette player", "chainsaw", "church", "French horn", "garbage truck",
        "gas pump", "golf ball", "parachute", "Granny Smith apple", "red-breasted merganser",
        "three-toed sloth", "Old English Sheepdog", "soft-coated wheaten terrier"};
    std::vector<std::string> prompts;
    const int n_templates = std::size(templates), n_labels = std::size(labels);
    for (int i = 0; i < count; ++i) {
        std::string prompt = templates[i % n_templates];
        prompt.replace(prompt.find("{}"), 2, labels[(i / n_templates) % n_labels]);
        prompts.push_back(std::move(prompt));
    }
    return prompts;
}

// VmHWM of this process image: unlike getrusage's ru_maxrss it does not carry over the RSS of
// a parent that forked us (a Python driver holding a model, say).
double peak_rss_mb() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;
}

double weights_mb(const std::filesystem::path& model_dir) {
    uintmax_t bytes = 0;
    for (const auto& entry : std::filesystem::directory_iterator(model_dir)) {
        if (entry.path().extension() == ".safetensors") bytes += entry.file_size();
    }
    return bytes / (1024.0 * 1024.0);
}

int run_bench(const BenchOptions& options) {
    const std::filesystem::path model_dir = resolve_model(options.run.model);
    Clip clip = open_clip(model_dir, options.run);
    const int batch = options.run.batch_size;
    const int items = options.items > 0 ? options.items : 4 * batch;
    const int batches = (items + batch - 1) / batch;
    std::function<void()> run_batch;

    std::vector<float> pixels;
    std::vector<std::vector<int32_t>> tokens;
    double gflop_per_batch = 0;
    if (options.tower == "image") {
        const VisionConfig& vc = clip.config().vision;
        pixels.resize(size_t(batch) * vc.num_channels * vc.image_size * vc.image_size);
        std::mt19937 rng(1);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (float& p : pixels) p = normal(rng);
        run_batch = [&] { clip.model().encode_images(pixels.data(), batch); };
        gflop_per_batch = batch * model_family(clip.config().family).image_flops(clip.config()) / 1e9;
    } else {
        for (const std::string& prompt : synthetic_prompts(batch)) {
            tokens.push_back(clip.tokenize(prompt));
            gflop_per_batch += model_family(clip.config().family).text_flops(clip.config(), static_cast<int>(tokens.back().size())) / 1e9;
        }
        run_batch = [&] { clip.model().encode_texts(tokens); };
    }

    run_batch();  // warm-up: primitive creation, first touch of the weights
    std::vector<double> batch_seconds;
    for (int b = 0; b < batches; ++b) {
        const auto start = std::chrono::steady_clock::now();
        run_batch();
        batch_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const double seconds = std::accumulate(batch_seconds.begin(), batch_seconds.end(), 0.0);
    // Other processes on a busy machine slow some batches down: the best batch shows the
    // undisturbed speed, the mean what this run got.
    const double best = *std::min_element(batch_seconds.begin(), batch_seconds.end());

    const int threads = options.run.threads > 0 ? options.run.threads
                                                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    nlohmann::json result = {
        {"images_per_s", batches * batch / seconds},
        {"ms_per_batch", 1000.0 * seconds / batches},
        {"best_images_per_s", batch / best},
        {"best_ms_per_batch", 1000.0 * best},
        {"gflop_per_item", gflop_per_batch / batch},
        {"gflop_per_s", batches * gflop_per_batch / seconds},
        {"precision", precision_name(clip.model().precision())},
        {"batch_size", batch},
        {"batches", batches},
        {"threads", threads},
        {"tower", options.tower},
        {"peak_rss_mb", std::round(peak_rss_mb())},
        {"weights_mb", std::round(weights_mb(model_dir))},
        {"isa", clip.model().kernel_info()},
    };
    if (options.peak) {
        const CpuPeak peak = measure_cpu_peak(clip.model().precision(), threads);
        result["peak_instruction"] = peak.instruction;
        result["peak_gflop_per_s"] = peak.gflop_per_s;
        result["fraction_of_peak"] = peak.gflop_per_s > 0 ? result["gflop_per_s"].get<double>() / peak.gflop_per_s : 0.0;
    }
    if (options.json) {
        std::cout << json_text(result) << "\n";
    } else {
        std::cout << options.tower << " tower, " << result["precision"].get<std::string>() << ", batch " << batch << ", "
                  << threads << " threads (" << result["isa"].get<std::string>() << "):\n"
                  << "  " << result["images_per_s"].get<double>() << (options.tower == "image" ? " images/s" : " texts/s")
                  << ", " << result["ms_per_batch"].get<double>() << " ms per batch (best "
                  << result["best_ms_per_batch"].get<double>() << "), "
                  << result["gflop_per_s"].get<double>() << " GFLOP/s, peak RSS "
                  << result["peak_rss_mb"].get<double>() << " MiB (weights " << result["weights_mb"].get<double>()
                  << " MiB)\n";
        if (options.peak) {
            std::cout << "  CPU peak (" << result["peak_instruction"].get<std::string>() << ", " << threads
                      << " threads): " << result["peak_gflop_per_s"].get<double>() << " GFLOP/s; this run reached "
                      << 100.0 * result["fraction_of_peak"].get<double>() << "%\n";
        }
    }
    return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, Action& run) {
    auto options = std::make_shared<BenchOptions>();
    auto* cmd = app.add_subcommand("bench", "Measure a tower's throughput on synthetic input");
    add_run_options(*cmd, options->run);
    cmd->add_option("--images", options->items, "Items to time after the warm-up batch (default: 4 batches)")
        ->check(CLI::Range(1, 1000000));
    cmd->add_option("--tower", options->tower, "image or text")->check(CLI::IsMember({"image", "text"}));
    cmd->add_flag("--json", options->json, "Print one JSON object");
    cmd->add_flag("--peak", options->peak,
                  "Also measure the CPU's peak multiply-add rate for the precision and report the fraction reached");
    cmd->callback([options, &run] { run = [options] { return run_bench(*options); }; });
}

}  // namespace zeroclip::cli
