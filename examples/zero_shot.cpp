// zero_shot - classify one image against labels given on the command line.
//
//   zero_shot MODEL_DIR IMAGE LABEL [LABEL...]
//
// Prints one "probability label" line per label, most likely first. The probabilities are
// softmax(logit_scale * cosine(image, text)) over the labels, each label written into the
// prompt "a photo of a {}." - what CLIPModel's logits_per_image.softmax() gives in Python.
#include <cstdio>
#include <string>
#include <vector>

#include "zeroclip/zeroclip.h"

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL_DIR IMAGE LABEL [LABEL...]\n", argv[0]);
        return 2;
    }
    const std::string model_dir = argv[1];
    const std::string image_path = argv[2];
    const std::vector<std::string> labels(argv + 3, argv + argc);

    try {
        // A Hugging Face CLIP directory: config.json, model.safetensors, vocab.json, merges.txt
        // and preprocessor_config.json. Runs on the CPU in fp32 by default (see ModelOptions).
        zeroclip::Clip clip = zeroclip::Clip::open(model_dir);

        // One unit-norm text embedding per label, from "a photo of a cat.", "a photo of a dog."...
        // More templates can be given; their embeddings are averaged (prompt ensembling).
        const zeroclip::Matrix weights =
            zeroclip::class_weights(clip, labels, {zeroclip::kDefaultTemplate});

        // Decode the file (any of JPEG, PNG, WebP, BMP, GIF), preprocess it like
        // CLIPImageProcessor and run the image tower: a [1, projection_dim] matrix.
        zeroclip::Matrix image = clip.embed_images({zeroclip::read_image(image_path)});
        // Unit-norm rows make the dot products below cosine similarities.
        zeroclip::l2_normalize_rows(image);

        // [1, labels.size()]: one probability per label, summing to 1.
        const zeroclip::Matrix probs =
            zeroclip::zero_shot_probabilities(image, weights, clip.scoring());
        for (const zeroclip::Prediction& p : zeroclip::top_k(probs.row(0), probs.cols, probs.cols))
            std::printf("%.4f %s\n", p.score, labels[p.index].c_str());
    } catch (const zeroclip::Error& e) {
        // Every library failure is a zeroclip::Error with a one-line message naming the culprit.
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}
