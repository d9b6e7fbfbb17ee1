// zeroclip/eval.h - zero-shot evaluation on labelled datasets, the way LAION's CLIP_benchmark
// does it: dataset readers, built-in prompt templates, an image-embedding cache, metrics and
// report files (JSON, CSV, a self-contained HTML page).
//
//   Dataset data = zeroclip::read_dataset("imagefolder:imagenette-val");
//   zeroclip::apply_classnames(data, "imagenette-classes.tsv");
//   auto weights = zeroclip::class_weights(clip, data.class_names, zeroclip::load_templates("imagenet"));
//   auto embeds = zeroclip::embed_dataset(data, clip.preprocess_config(), dim, encoder, {});
//   zeroclip::l2_normalize_rows(embeds.embeds);
//   auto scored = zeroclip::score_images(data, embeds, weights, clip.logit_scale());
//   auto metrics = zeroclip::compute_metrics(data.class_names.size(), scored);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "zeroclip/image.h"
#include "zeroclip/image_batches.h"
#include "zeroclip/model.h"
#include "zeroclip/preprocess.h"
#include "zeroclip/zeroshot.h"

namespace zeroclip {

// ---------------------------------------------------------------- datasets

// One labelled image: a file, or an image held in memory (CIFAR's binary batches).
struct Sample {
    std::string id;              // the file path, or "<batch file>#<record index>"
    std::filesystem::path path;  // empty for in-memory images
    int image = -1;              // index into Dataset::images for in-memory images
    int label = 0;               // index into Dataset::class_names
};

struct Dataset {
    std::string spec;                      // as given to read_dataset
    std::vector<std::string> class_keys;   // folder names / CSV labels / CIFAR label names
    std::vector<std::string> class_names;  // what the prompts say; default: keys with '_' -> ' '
    std::vector<Sample> samples;
    std::vector<RgbImage> images;  // the in-memory images
    // What reading the dataset skipped (unlistable folders, symbolic link loops, dangling
    // links): reported like unreadable images, the run goes on.
    std::vector<ImageFailure> problems;
};

// Largest number of samples or classes a reader accepts (bounds memory on hostile inputs).
inline constexpr size_t kMaxDatasetSamples = 20'000'000;
inline constexpr size_t kMaxDatasetClasses = 100'000;

// SPEC: "imagefolder:DIR" (one sub-folder per class, sorted by name, images found recursively),
// "cifar10:DIR" (test_batch.bin + batches.meta.txt), "cifar100:DIR" (test.bin +
// fine_label_names.txt, fine labels), "csv:FILE" (path,label lines; relative paths resolve
// from the file's folder; classes are the labels sorted, numerically when all are integers).
// Throws zeroclip::Error naming the file or the spec.
Dataset read_dataset(const std::string& spec);
Dataset read_imagefolder(const std::filesystem::path& dir);
Dataset read_cifar(const std::filesystem::path& dir, bool cifar100);
Dataset read_csv_dataset(const std::filesystem::path& file);

// "aquarium_fish" -> "aquarium fish".
std::string default_class_name(const std::string& key);

// Renames the classes from FILE: TSV lines "key<TAB>name" (every class key must appear; other
// keys are ignored) or, without tabs, one name per line in class order. Names must be unique.
void apply_classnames(Dataset& dataset, const std::filesystem::path& file);

// Keeps `n` samples spread evenly over the dataset (every total/n-th), so that a limited run of
// a class-sorted folder still sees every class. n == 0 or n >= size keeps everything.
void limit_samples(Dataset& dataset, size_t n);

// ---------------------------------------------------------------- prompt templates

struct BuiltinTemplates {
    std::string name;
    std::vector<std::string> templates;
};

// The sets compiled into the program (OpenAI CLIP's, see builtin_templates.cpp): imagenet
// (80 templates), imagenette, cifar10, cifar100, caltech101, stl10, food101, oxford_pets,
// openai-simple ("a photo of a {}.").
const std::vector<BuiltinTemplates>& builtin_template_sets();

// An existing file (one template a line, blank lines ignored) or else a built-in set's name.
// Every template must contain "{}". Throws naming the argument.
std::vector<std::string> load_templates(const std::string& name_or_file);

// ---------------------------------------------------------------- embedding cache

struct ContentHash {
    uint64_t lo = 0;
    uint64_t hi = 0;
    bool operator==(const ContentHash&) const = default;
};

// A fast non-cryptographic 128-bit hash (two independent 64-bit lanes); `seed` separates domains.
ContentHash hash_bytes(std::span<const uint8_t> bytes, uint64_t seed = 0);

// Identifies a model's image embeddings without reading the whole checkpoint: for every
// *.safetensors file (sorted) its name, size, mtime, full JSON header and 64 evenly spaced 4 KiB
// windows of tensor data, plus config.json and preprocessor_config.json in full. 32 hex digits.
std::string model_fingerprint(const std::filesystem::path& model_dir);

// Image embeddings of one (model fingerprint, precision), keyed by image content hash, in
// DIR/<key>.zcache. find() reads only the entries loaded from the file, so decoding threads may
// call it while add() runs on another; added entries are written by save().
class EmbeddingCache {
public:
    // Loads DIR/<key>.zcache when present (a file of another `dim` or a damaged one throws).
    // Entries whose checksum or values are wrong are left out (see note()), so they are recomputed.
    EmbeddingCache(const std::filesystem::path& dir, const std::string& key, int dim);

    const float* find(const ContentHash& hash) const;  // nullptr when absent
    void add(const ContentHash& hash, const float* embedding);
    // Writes loaded + added entries atomically, creating DIR; does nothing when none was added.
    // Under a lock, entries that other runs saved meanwhile are merged in, not lost.
    void save() const;
    // What loading found wrong (damaged entries, an older format), for the user; "" if nothing.
    const std::string& note() const { return note_; }

    int dim() const { return dim_; }
    size_t loaded_size() const { return index_.size(); }
    size_t added_size() const { return added_hashes_.size(); }
    const std::filesystem::path& path() const { return path_; }

private:
    struct HashKey {
        size_t operator()(const ContentHash& h) const { return static_cast<size_t>(h.lo ^ h.hi); }
    };
    std::filesystem::path path_;
    int dim_ = 0;
    std::unordered_map<ContentHash, size_t, HashKey> index_;  // -> row in loaded_
    std::vector<ContentHash> loaded_hashes_;
    std::vector<float> loaded_;
    std::vector<ContentHash> added_hashes_;
    std::vector<float> added_;
    std::string note_;
};

// ---------------------------------------------------------------- embedding a dataset

// The image tower: pixel values [n, 3, H, W] -> embeddings [n, dim] (un-normalised).
using ImageEncoder = std::function<Matrix(const float* pixel_values, int n)>;

struct EmbedOptions {
    int batch_size = 32;
    int threads = 0;                        // decoding workers; 0: all cores
    EmbeddingCache* cache = nullptr;        // looked up before decoding; new embeddings added
    std::function<void(size_t done, size_t total)> on_progress;  // after each batch
    std::function<void(const ImageFailure&)> on_failure;        // as failures happen
};

struct DatasetEmbeddings {
    Matrix embeds;                    // one row per scored sample, as the encoder returned it
    std::vector<int> scored;          // the sample index of each row, in dataset order
    std::vector<ImageFailure> skipped;  // unreadable images, in dataset order
    size_t encoded = 0;               // images that went through the encoder
    size_t from_cache = 0;
    double seconds = 0.0;             // wall time of the whole pass
};

// Decodes (files) or takes (in-memory) every sample, preprocesses and encodes it in batches,
// the next batch decoded on worker threads while the current one is encoded. Unreadable
// images are skipped and reported; the pass goes on.
DatasetEmbeddings embed_dataset(const Dataset& dataset, const PreprocessConfig& preprocess, int dim,
                                const ImageEncoder& encoder, const EmbedOptions& options);

// ---------------------------------------------------------------- scoring and metrics

struct ScoredImage {
    std::string id;
    int label = 0;
    std::vector<Prediction> top;  // best first, min(k, classes) entries
};

// softmax(logit_scale * cos) top-k for every scored sample; `embeddings.embeds` must have
// unit-norm rows and `class_weights` one unit-norm row per class.
std::vector<ScoredImage> score_images(const Dataset& dataset, const DatasetEmbeddings& embeddings,
                                      const Matrix& class_weights, float logit_scale, int k = 5);

// The same with the model family's scores (Clip::scoring(): softmax, or SigLIP's sigmoid).
std::vector<ScoredImage> score_images(const Dataset& dataset, const DatasetEmbeddings& embeddings,
                                      const Matrix& class_weights, const Scoring& scoring, int k = 5);

struct ClassMetrics {
    int64_t n = 0;          // images of this class
    int64_t predicted = 0;  // images predicted as this class
    double recall = 0.0;    // NaN when n == 0
    double precision = 0.0; // NaN when predicted == 0
};

struct Metrics {
    int num_classes = 0;
    int64_t n = 0;
    double acc1 = 0.0;
    double acc5 = 0.0;                   // = acc1 when there are fewer than 5 classes
    double mean_per_class_recall = 0.0;  // over classes with n > 0 (sklearn balanced accuracy)
    std::vector<ClassMetrics> per_class;
    std::vector<int64_t> confusion;      // [true * num_classes + predicted]
};

Metrics compute_metrics(int num_classes, const std::vector<ScoredImage>& images);

// ---------------------------------------------------------------- reports

struct EvalReport {
    std::string dataset;
    std::string model;
    std::vector<std::string> templates;
    std::vector<std::string> class_names;
    std::vector<ScoredImage> images;
    std::vector<ImageFailure> skipped;
    Metrics metrics;
    double seconds = 0.0;       // wall time of the whole evaluation
    double images_per_s = 0.0;  // images over the image pass's wall time
};

// CLIP_benchmark-compatible JSON: dataset, model, task, templates, n, skipped, metrics
// (acc1, acc5, mean_per_class_recall), per_class {name: {n, recall, precision}}, seconds,
// images_per_s. Undefined values are null.
std::string metrics_json(const EvalReport& report);

// path,label,top1,p1,...,top5,p5 (RFC 4180 quoting).
void write_predictions_csv(const EvalReport& report, std::ostream& out);
// A header row of predicted classes, then one row of counts per true class.
void write_confusion_csv(const EvalReport& report, std::ostream& out);
// One self-contained page: metrics table, class distribution, per-class recall and the
// confusion heatmap as inline SVG; no scripts, no external resources.
std::string report_html(const EvalReport& report);

// metrics.json, predictions.csv, confusion.csv and report.html in `dir` (created if needed).
void write_report_files(const EvalReport& report, const std::filesystem::path& dir);

}  // namespace zeroclip
