// zeroclip eval end to end with a real (tiny, random) model: the metrics and predictions are
// recomputed independently, one image and one prompt at a time, through the library.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cpu_expectations.h"
#include "eval_test_support.h"
#include "test_support.h"
#include "zeroclip/eval.h"
#include "zeroclip/zeroclip.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

fs::path fixture_model() { return test::fixtures_dir() / "models" / "clip-f32-quickgelu"; }

double max_abs_difference(const Matrix& a, const Matrix& b) {
    double d = a.data.size() == b.data.size() ? 0.0 : INFINITY;
    for (size_t i = 0; i < a.data.size() && i < b.data.size(); ++i)
        d = std::max(d, std::abs(static_cast<double>(a.data[i]) - b.data[i]));
    return d;
}

// CLIP's prompt ensembling written out in double precision, one prompt at a time.
Matrix reference_weights(Clip& clip, const std::vector<std::string>& names,
                         const std::vector<std::string>& templates) {
    const int dim = clip.config().projection_dim;
    Matrix w{static_cast<int>(names.size()), dim, std::vector<float>(names.size() * dim)};
    for (size_t c = 0; c < names.size(); ++c) {
        std::vector<double> mean(dim, 0.0);
        for (const auto& t : templates) {
            const Matrix e = clip.embed_texts({apply_template(t, names[c])});
            double norm = 0;
            for (float v : e.data) norm += static_cast<double>(v) * v;
            for (int k = 0; k < dim; ++k) mean[k] += e.data[k] / std::sqrt(norm) / templates.size();
        }
        double norm = 0;
        for (double v : mean) norm += v * v;
        for (int k = 0; k < dim; ++k) w.row(static_cast<int>(c))[k] = static_cast<float>(mean[k] / std::sqrt(norm));
    }
    return w;
}

// softmax(logit_scale * cos) of one image, embedded alone.
std::vector<double> reference_probabilities(Clip& clip, const RgbImage& image, const Matrix& weights) {
    const Matrix e = clip.embed_images({image});
    double norm = 0;
    for (float v : e.data) norm += static_cast<double>(v) * v;
    std::vector<double> logits(weights.rows);
    double top = -INFINITY, sum = 0;
    for (int c = 0; c < weights.rows; ++c) {
        double dot = 0;
        for (int k = 0; k < e.cols; ++k) dot += e.data[k] * static_cast<double>(weights.row(c)[k]);
        logits[c] = clip.logit_scale() * dot / std::sqrt(norm);
        top = std::max(top, logits[c]);
    }
    for (auto& v : logits) sum += (v = std::exp(v - top));
    for (auto& v : logits) v /= sum;
    return logits;
}

struct CsvRow {
    std::string path, label, top1;
    double p1 = 0;
};

// predictions.csv of datasets whose paths and names hold no commas or quotes.
std::vector<CsvRow> read_predictions(const fs::path& file) {
    std::istringstream in(test::read_file(file));
    std::vector<CsvRow> rows;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string field; std::getline(ss, field, ',');) f.push_back(field);
        if (f.size() < 4) ADD_FAILURE() << "short row: " << line;
        else rows.push_back({f[0], f[1], f[2], std::stod(f[3])});
    }
    return rows;
}

// Checks a finished `eval --out OUT --json` run against the independent computation.
void check_against_reference(Clip& clip, const Dataset& dataset, const std::vector<std::string>& templates,
                             const nlohmann::json& json, const fs::path& out) {
    const Matrix weights = reference_weights(clip, dataset.class_names, templates);
    EXPECT_LT(max_abs_difference(class_weights(clip, dataset.class_names, templates), weights), 1e-5);
    const auto rows = read_predictions(out / "predictions.csv");
    ASSERT_EQ(rows.size(), dataset.samples.size());
    int64_t correct = 0;
    int close_calls = 0;
    std::map<std::string, int> index;
    for (size_t c = 0; c < dataset.class_names.size(); ++c) index[dataset.class_names[c]] = static_cast<int>(c);
    for (size_t i = 0; i < rows.size(); ++i) {
        const Sample& s = dataset.samples[i];
        ASSERT_EQ(rows[i].path, s.id);
        ASSERT_EQ(rows[i].label, dataset.class_names[s.label]);
        const RgbImage image = s.image >= 0 ? dataset.images[s.image] : read_image(s.path);
        const auto probs = reference_probabilities(clip, image, weights);
        const int best = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
        correct += best == s.label;
        EXPECT_NEAR(rows[i].p1, probs[index[rows[i].top1]], 1e-4) << s.id;
        if (index[rows[i].top1] != best) {
            // Only a near-tie may rank differently between batched and single-image passes.
            EXPECT_NEAR(probs[best], probs[index[rows[i].top1]], 1e-4) << s.id;
            ++close_calls;
        }
    }
    EXPECT_LE(close_calls, 1);
    EXPECT_EQ(json["n"], rows.size());
    EXPECT_NEAR(json["metrics"]["acc1"].get<double>(), static_cast<double>(correct) / rows.size(),
                (close_calls + 1e-9) / rows.size());
}

class EvalCli : public test::TempDirTest {
protected:
    test::CliResult run(const std::vector<std::string>& args) { return test::run_cli(args, dir_ / "stderr.txt"); }

    // Three colour classes of BMPs of different sizes, and one broken file.
    fs::path make_folder() {
        const fs::path data = dir_ / "colours";
        const uint8_t colours[3][3] = {{220, 30, 30}, {30, 200, 40}, {20, 40, 230}};
        const char* names[] = {"red_things", "green_things", "blue_things"};
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < 3; ++i)
                test::write_bmp(data / names[c] / (std::to_string(i) + ".bmp"), 20 + 13 * i, 48 - 7 * i,
                                colours[c][0] + 10 * i, colours[c][1], colours[c][2]);
        test::write_file(data / "green_things" / "broken.bmp", "BM\x10\x00 broken");
        return data;
    }
};

}  // namespace

TEST(EvalModel, ClassWeightsEnsembleMatchesReference) {
    Clip clip = Clip::open(fixture_model());
    const std::vector<std::string> names = {"cat", "dog", "a red bird"};
    const auto templates = load_templates("imagenet");
    const std::vector<std::string> some(templates.begin(), templates.begin() + 5);
    EXPECT_LT(max_abs_difference(class_weights(clip, names, some), reference_weights(clip, names, some)),
              1e-5);
    // One template: the weights are the normalised text embeddings themselves.
    const Matrix one = class_weights(clip, names, {"a photo of a {}."});
    const Matrix ref = reference_weights(clip, names, {"a photo of a {}."});
    EXPECT_LT(max_abs_difference(one, ref), 1e-6);
}

TEST_F(EvalCli, ImageFolderMatchesIndependentComputation) {
    const fs::path data = make_folder();
    test::write_file(dir_ / "templates.txt", "a photo of {}.\na blurry picture of the {}.\n");
    test::write_file(dir_ / "names.txt", "blue\ngreen\nred\n");
    const auto r = run({"eval", "-m", fixture_model().string(), "--dataset", "imagefolder:" + data.string(),
                        "--classnames", (dir_ / "names.txt").string(), "--templates",
                        (dir_ / "templates.txt").string(), "--batch-size", "2", "--out", (dir_ / "out").string(),
                        "--json"});
    EXPECT_EQ(r.status, 1) << "a skipped image makes the exit status 1\n" << r.err;
    EXPECT_NE(r.err.find("broken.bmp"), std::string::npos) << r.err;
    const auto json = nlohmann::json::parse(r.out);
    ASSERT_EQ(json["skipped"].size(), 1u);
    EXPECT_EQ(json["skipped"][0]["path"], (data / "green_things" / "broken.bmp").string());
    EXPECT_EQ(json["templates"].size(), 2u);
    EXPECT_EQ(json["per_class"]["green"]["n"], 3);
    EXPECT_EQ(nlohmann::json::parse(test::read_file(dir_ / "out" / "metrics.json")), json);

    Dataset dataset = read_dataset("imagefolder:" + data.string());
    apply_classnames(dataset, dir_ / "names.txt");
    std::erase_if(dataset.samples, [](const Sample& s) { return s.path.filename() == "broken.bmp"; });
    Clip clip = Clip::open(fixture_model());
    check_against_reference(clip, dataset, load_templates((dir_ / "templates.txt").string()), json, dir_ / "out");

    const std::string html = test::read_file(dir_ / "out" / "report.html");
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("</html>"), std::string::npos);
    int64_t total = 0;
    std::istringstream confusion(test::read_file(dir_ / "out" / "confusion.csv"));
    std::string line;
    std::getline(confusion, line);
    while (std::getline(confusion, line))
        for (size_t p = line.find(','); p != std::string::npos; p = line.find(',', p + 1))
            total += std::stoll(line.substr(p + 1));
    EXPECT_EQ(total, 9);
}

TEST_F(EvalCli, CacheMeansNoImageIsEncodedAgain) {
    const fs::path data = make_folder();
    fs::remove(data / "green_things" / "broken.bmp");
    const std::vector<std::string> base = {"eval", "-m", fixture_model().string(), "--dataset",
                                           "imagefolder:" + data.string(), "--cache", (dir_ / "cache").string()};
    auto with = [&](std::vector<std::string> extra) {
        auto args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    };
    const auto first = run(with({"--json", "-q"}));
    ASSERT_EQ(first.status, 0) << first.err;
    EXPECT_EQ(first.err, "");  // --quiet

    const auto second = run(with({"--templates", "cifar10"}));
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_NE(second.out.find("9 images scored, 0 skipped, 0 encoded, 9 from cache"), std::string::npos)
        << second.out;
    EXPECT_NE(second.err.find("9/9"), std::string::npos) << "progress lines when stderr is not a terminal";

    const auto third = run(with({"--json", "-q"}));
    ASSERT_EQ(third.status, 0) << third.err;
    auto a = nlohmann::json::parse(first.out), b = nlohmann::json::parse(third.out);
    EXPECT_EQ(a["metrics"], b["metrics"]);
    EXPECT_EQ(a["per_class"], b["per_class"]);

    // Other preprocessing, other embeddings: a different cache key.
    const fs::path model = dir_ / "model";
    fs::copy(fixture_model(), model);
    auto config = nlohmann::json::parse(test::read_file(model / "preprocessor_config.json"));
    config["image_mean"] = {0.5, 0.5, 0.5};
    test::write_file(model / "preprocessor_config.json", config.dump());
    auto args = with({});
    args[2] = model.string();
    const auto other_model = run(args);
    ASSERT_EQ(other_model.status, 0) << other_model.err;
    EXPECT_NE(other_model.out.find("9 encoded, 0 from cache"), std::string::npos) << other_model.out;

    // The precision that runs is part of the key too: bf16 embeddings are new; where the CPU (under
    // the ISA cap) falls back to fp32, the run says so and its embeddings are the cached fp32 ones.
    const auto bf16 = run(with({"--precision", "bf16"}));
    ASSERT_EQ(bf16.status, 0) << bf16.err;
    if (test::cpu_runs_bf16()) {
        EXPECT_NE(bf16.out.find("9 encoded, 0 from cache"), std::string::npos) << bf16.out;
    } else {
        EXPECT_NE(bf16.out.find("0 encoded, 9 from cache"), std::string::npos) << bf16.out;
        EXPECT_NE(bf16.err.find("running fp32 instead of bf16"), std::string::npos) << bf16.err;
    }
}

TEST_F(EvalCli, BadArgumentsFailWithOneLine) {
    auto r = run({"eval", "-m", fixture_model().string(), "--dataset", "folder:" + dir_.string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err.rfind("zeroclip: --dataset folder:", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    r = run({"eval", "-m", fixture_model().string(), "--dataset", "imagefolder:" + dir_.string(), "--template",
             "a {}", "--templates", "imagenet"});
    EXPECT_EQ(r.status, 2) << r.err;
    r = run({"eval", "-m", fixture_model().string(), "--dataset", "imagefolder:" + make_folder().string(),
             "--templates", "no-such-set"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no-such-set"), std::string::npos) << r.err;
}

TEST_F(EvalCli, ClassifyTakesTemplateSets) {
    const fs::path data = make_folder();
    const std::string image = (data / "red_things" / "0.bmp").string();
    const auto set = run({"classify", "-m", fixture_model().string(), "-l", "red,green", "--templates",
                          "openai-simple", "--json", image});
    const auto one = run({"classify", "-m", fixture_model().string(), "-l", "red,green", "--template",
                          "a photo of a {}.", "--json", image});
    ASSERT_EQ(set.status, 0) << set.err;
    EXPECT_EQ(set.out, one.out);
    const auto ensemble = run({"classify", "-m", fixture_model().string(), "-l", "red,green", "--templates",
                               "cifar10", "--json", image});
    ASSERT_EQ(ensemble.status, 0) << ensemble.err;
    EXPECT_NE(ensemble.out, one.out);
}

// ../shared's datasets with the conformance model, checked against the independent computation.
class EvalCliShared : public EvalCli {
protected:
    void run_and_check(const fs::path& shared, const std::string& spec, const std::string& classnames,
                       const std::string& limit, size_t expected_n) {
        const fs::path model = shared / "conformance" / "models" / "tiny";
        std::vector<std::string> args = {"eval", "-m", model.string(), "--dataset", spec, "--templates",
                                         "cifar10", "--limit", limit, "--out", (dir_ / "out").string(),
                                         "--json", "-q"};
        if (!classnames.empty()) args.insert(args.end(), {"--classnames", classnames});
        const auto r = run(args);
        ASSERT_EQ(r.status, 0) << r.err;
        const auto json = nlohmann::json::parse(r.out);
        EXPECT_EQ(json["n"], expected_n);
        Dataset dataset = read_dataset(spec);
        if (!classnames.empty()) apply_classnames(dataset, classnames);
        limit_samples(dataset, std::stoul(limit));
        Clip clip = Clip::open(model);
        check_against_reference(clip, dataset, load_templates("cifar10"), json, dir_ / "out");
    }
};

TEST_F(EvalCliShared, Caltech101Sample) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    run_and_check(shared, "imagefolder:" + (shared / "data" / "caltech101-sample").string(), "", "0", 25);
}

TEST_F(EvalCliShared, Cifar10) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    run_and_check(shared, "cifar10:" + (shared / "data" / "cifar-10-batches-bin").string(), "", "300", 300);
}

TEST_F(EvalCliShared, Imagenette) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    run_and_check(shared, "imagefolder:" + (shared / "data" / "imagenette-val").string(),
                  (shared / "data" / "imagenette-classes.tsv").string(), "200", 200);
}
