// text_similarity - cosine similarities between texts, through CLIP's text tower.
//
//   text_similarity MODEL_DIR TEXT TEXT [TEXT...]
//
// Prints the N x N similarity matrix: line i holds the similarities of text i with texts
// 1..N, then text i itself.
#include <cstdio>
#include <string>
#include <vector>

#include "zeroclip/zeroclip.h"

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL_DIR TEXT TEXT [TEXT...]\n", argv[0]);
        return 2;
    }
    const std::vector<std::string> texts(argv + 2, argv + argc);

    try {
        zeroclip::Clip clip = zeroclip::Clip::open(argv[1]);

        // Texts longer than the context length (77 tokens for OpenAI's models) are truncated,
        // as the Python tokenizer does with truncation=True.
        zeroclip::Matrix embeds = clip.embed_texts(texts);  // [N, projection_dim]
        zeroclip::l2_normalize_rows(embeds);

        for (int i = 0; i < embeds.rows; ++i) {
            for (int j = 0; j < embeds.rows; ++j) {
                float dot = 0.0f;
                for (int k = 0; k < embeds.cols; ++k) dot += embeds.row(i)[k] * embeds.row(j)[k];
                std::printf("%7.4f ", dot);
            }
            std::printf(" %s\n", texts[i].c_str());
        }
    } catch (const zeroclip::Error& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}
