// final_sigma.h - Unicode's one context-dependent lowercase rule that the tokenizer's normaliser
// must apply (HF tokenizers lowercases with Rust's str::to_lowercase, which applies it, as Python's
// str.lower does): capital sigma at the end of a word becomes final sigma.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zeroclip {

// Whether text[i] (U+03A3) lowercases to U+03C2 (final sigma) rather than U+03C3: it is preceded
// by a cased letter, skipping case-ignorable characters, and not followed by one, skipping them
// likewise (Unicode's Final_Sigma condition, section 3.13). text: code points after NFC.
bool is_final_sigma(const std::vector<int32_t>& text, size_t i);

}  // namespace zeroclip
