// The text tower's input rules, shared by every ClipModel implementation.
#pragma once

#include <cstdint>
#include <vector>

#include "zeroclip/config.h"

namespace zeroclip {

// Throws zeroclip::Error for an empty or too long sequence or an id outside the vocabulary;
// `index` names the sequence in the message.
void validate_token_ids(const TextConfig& config, const std::vector<int32_t>& ids, int index);

// The position whose final state becomes the text embedding, as transformers picks it: the
// first eos_token_id or, for legacy configs (eos_token_id == 2), the highest id (<|endoftext|>).
int pooled_position(const TextConfig& config, const std::vector<int32_t>& ids);

}  // namespace zeroclip
