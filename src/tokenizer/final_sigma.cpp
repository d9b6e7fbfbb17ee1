// Final_Sigma: the Cased and Case_Ignorable properties it needs, derived from utf8proc's general
// categories and case mappings plus the few characters those do not cover.
#include "tokenizer/final_sigma.h"

#include <algorithm>
#include <iterator>

#include <utf8proc.h>

namespace zeroclip {

namespace {

// Case_Ignorable beyond the categories Mn, Me, Cf, Lm, Sk: Word_Break MidLetter, MidNumLet and
// Single_Quote (apostrophes, full stops, colons, middle dots). Sorted.
constexpr int32_t kIgnorablePunctuation[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,
                                             0x5F4,  0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
                                             0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};

bool is_case_ignorable(int32_t c) {
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return true;
    default: return std::binary_search(std::begin(kIgnorablePunctuation), std::end(kIgnorablePunctuation), c);
    }
}

// Cased (only asked of characters that are not case-ignorable): upper, lower or title case
// letters, anything with a case mapping (circled and Roman numeral letters), and the few
// Other_Lowercase / Other_Uppercase characters with neither: ª, º and the squared, circled and
// negative squared Latin capitals.
bool is_cased(int32_t c) {
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: return true;
    default: break;
    }
    if (utf8proc_tolower(c) != c || utf8proc_toupper(c) != c || utf8proc_totitle(c) != c) return true;
    return c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
           (c >= 0x1F170 && c <= 0x1F189);
}

// Skipping case-ignorable characters from `begin` towards `end`, is the first other one cased?
template <typename Iterator>
bool cased_after_ignorables(Iterator begin, Iterator end) {
    for (auto it = begin; it != end; ++it) {
        if (!is_case_ignorable(*it)) return is_cased(*it);
    }
    return false;
}

}  // namespace

bool is_final_sigma(const std::vector<int32_t>& text, size_t i) {
    const auto at = text.begin() + static_cast<std::ptrdiff_t>(i);
    return cased_after_ignorables(std::make_reverse_iterator(at), text.rend()) &&
           !cased_after_ignorables(at + 1, text.end());
}

}  // namespace zeroclip
