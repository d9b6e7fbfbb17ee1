// Unicode's Final_Sigma rule in the tokenizer's lowercasing: each input is tokenized as its
// lowercase form, written out here (and matching Python's str.lower, the independent reference
// that tests/lowercase_reference_check.py fuzzes against over every code point).
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "test_support.h"
#include "zeroclip/tokenizer.h"

namespace {

using zeroclip::Tokenizer;

const Tokenizer& fixture_tokenizer() {
    static const Tokenizer tok = Tokenizer::from_directory(zeroclip::test::fixtures_dir() / "tokenizer");
    return tok;
}

TEST(FinalSigma, CapitalSigmaEndingAWordBecomesFinalSigma) {
    // (input, its lowercase): ς (U+03C2) only after a cased letter and not before one, skipping
    // case-ignorable characters (combining marks, soft hyphen, apostrophes, full stops) both ways.
    const std::pair<std::string, std::string> cases[] = {
        {"ΟΔΟΣ", "οδος"},
        {"Σ", "σ"},                              // no cased letter before it
        {"ΣΑ", "σα"},
        {"ΑΣΑ", "ασα"},
        {"ΑΣ ΣΑ", "ας σα"},
        {"ΌΣΟΣ ΚΑΙ ΣΟΦΟΣ", "όσος και σοφος"},
        {"ΑΣ'", "ας'"},                          // apostrophe: case-ignorable
        {"Α'Σ", "α'ς"},
        {"ΑΣ\u0301", "ας\u0301"},                // combining acute accent
        {"ΑΣ\u0301Β", "ασ\u0301β"},              // ... then a letter: not the end of the word
        {"ΑΣ.Α", "ασ.α"},                        // full stop: case-ignorable
        {"ΑΣ-Α", "ας-α"},                        // hyphen-minus is not
        {"Α\u00adΣ", "α\u00adς"},                // soft hyphen (Cf)
        {"1Σ", "1σ"},                            // digits are not cased
        {"ΑΣ1", "ας1"},
        {"\u00aaΣ", "\u00aaς"},                  // ª: cased without a case mapping
        {"\u02b0Σ", "\u02b0σ"},                  // ʰ: a modifier letter, skipped as case-ignorable
    };
    const Tokenizer& tok = fixture_tokenizer();
    for (const auto& [input, lowercase] : cases) {
        EXPECT_EQ(tok.encode(input), tok.encode(lowercase)) << input << " should read as " << lowercase;
    }
    // The two sigmas tokenize differently, so the cases above can fail.
    EXPECT_NE(tok.encode("οδος"), tok.encode("οδοσ"));
}

}  // namespace
