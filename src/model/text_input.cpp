#include "model/text_input.h"

#include <algorithm>
#include <string>

#include "zeroclip/error.h"

namespace zeroclip {

void validate_token_ids(const TextConfig& config, const std::vector<int32_t>& ids, int index) {
    const std::string where = "encode_texts: sequence " + std::to_string(index);
    if (ids.empty()) throw Error(where + " is empty");
    if (ids.size() > size_t(config.max_position_embeddings)) {
        throw Error(where + " has " + std::to_string(ids.size()) + " tokens, more than " +
                    "max_position_embeddings " + std::to_string(config.max_position_embeddings));
    }
    for (int32_t id : ids) {
        if (id < 0 || id >= config.vocab_size) {
            throw Error(where + ": token id " + std::to_string(id) + " outside the vocabulary of " +
                        std::to_string(config.vocab_size));
        }
    }
}

int pooled_position(const TextConfig& config, const std::vector<int32_t>& ids) {
    if (config.eos_token_id == 2) {
        return static_cast<int>(std::max_element(ids.begin(), ids.end()) - ids.begin());
    }
    auto eos = std::find(ids.begin(), ids.end(), config.eos_token_id);
    return eos == ids.end() ? 0 : static_cast<int>(eos - ids.begin());
}

}  // namespace zeroclip
