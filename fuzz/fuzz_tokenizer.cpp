// fuzz_tokenizer: arbitrary bytes (invalid UTF-8 included) through Tokenizer::encode.
//
// Uses the committed fixture tokenizer: $ZEROCLIP_FUZZ_TOKENIZER_DIR, else tests/fixtures/tokenizer
// relative to the working directory (run from the source root).
#include "zeroclip/error.h"
#include "zeroclip/tokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

const zeroclip::Tokenizer& fixture_tokenizer() {
    static const zeroclip::Tokenizer tokenizer = [] {
        const char* env = std::getenv("ZEROCLIP_FUZZ_TOKENIZER_DIR");
        zeroclip::CacheOptions no_cache;  // parse the files: nothing written to the user's cache
        no_cache.enabled = false;
        try {
            return zeroclip::Tokenizer::from_directory(env ? env : "tests/fixtures/tokenizer", no_cache);
        } catch (const zeroclip::Error& e) {
            std::fprintf(stderr, "fuzz_tokenizer: %s (set ZEROCLIP_FUZZ_TOKENIZER_DIR)\n", e.what());
            std::exit(1);
        }
    }();
    return tokenizer;
}

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const zeroclip::Tokenizer& tok = fixture_tokenizer();
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const auto ids = tok.encode(text);
    for (int32_t id : ids) check(id >= 0 && id < tok.vocab_size());
    check(tok.encode(text) == ids);  // the word cache must not change results

    const auto model_ids = tok.encode_for_model(text, 77);
    check(model_ids.size() >= 2 && model_ids.size() <= 77);
    check(model_ids.front() == tok.bos_id() && model_ids.back() == tok.eos_id());
    return 0;
}
