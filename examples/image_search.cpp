// image_search - find the images under a directory that best match a text query.
//
//   image_search MODEL_DIR IMAGE_DIR QUERY [--top K]
//
// Prints "score path" for the K best images (default 5), best first; the score is the cosine
// similarity between the image and the query. Images that cannot be read are reported on
// stderr and left out.
//
// The images go through the library's pipeline: worker threads decode and preprocess the next
// batch while the image tower runs on the current one, and only each image's score is kept, so
// memory stays flat however many images there are.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "zeroclip/zeroclip.h"

static void print_usage(const char* program) {
    std::fprintf(stderr, "usage: %s MODEL_DIR IMAGE_DIR QUERY [--top K]\n", program);
}

int main(int argc, char** argv) {
    std::vector<std::string> positional;
    int top = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--top" && i + 1 < argc) {
            char* end = nullptr;
            const long k = std::strtol(argv[++i], &end, 10);
            if (*end != '\0' || k < 1 || k > 1'000'000) {
                print_usage(argv[0]);
                return 2;
            }
            top = static_cast<int>(k);
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.size() != 3) {
        print_usage(argv[0]);
        return 2;
    }
    const std::string& model_dir = positional[0];
    const std::string& image_dir = positional[1];
    const std::string& query = positional[2];

    auto report = [&](const zeroclip::ImageFailure& failure) {
        std::fprintf(stderr, "%s: skipped: %s\n", argv[0], failure.message.c_str());
    };

    try {
        zeroclip::Clip clip = zeroclip::Clip::open(model_dir);

        // The query's text embedding, normalised: [1, projection_dim].
        zeroclip::Matrix text = clip.embed_texts({query});
        zeroclip::l2_normalize_rows(text);

        // Every image file under IMAGE_DIR, recursively, in sorted order. A missing directory
        // comes back as a failure rather than an exception.
        std::vector<zeroclip::ImageFailure> failures;
        const std::vector<std::filesystem::path> paths =
            zeroclip::expand_image_paths({image_dir}, failures);
        for (const auto& failure : failures) report(failure);

        std::vector<std::filesystem::path> found;
        std::vector<float> scores;
        const int batch_size = 32;
        const int threads = 0;  // decoding workers: all cores
        zeroclip::for_each_image_batch(
            paths, clip.preprocess_config(), batch_size, threads,
            [&](zeroclip::ImageBatch& batch) {
                // batch.pixel_values holds the preprocessed images that decoded, in order.
                const int n = static_cast<int>(batch.paths.size());
                zeroclip::Matrix images = clip.model().encode_images(batch.pixel_values.data(), n);
                zeroclip::l2_normalize_rows(images);
                for (int i = 0; i < n; ++i) {
                    float dot = 0.0f;
                    for (int j = 0; j < images.cols; ++j) dot += images.row(i)[j] * text.row(0)[j];
                    scores.push_back(dot);
                    found.push_back(batch.paths[i]);
                }
            },
            report);
        if (found.empty()) throw zeroclip::Error(image_dir + ": no readable image");

        for (const zeroclip::Prediction& p :
             zeroclip::top_k(scores.data(), static_cast<int>(scores.size()), top))
            std::printf("%.4f %s\n", p.score, found[p.index].string().c_str());
    } catch (const zeroclip::Error& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}
