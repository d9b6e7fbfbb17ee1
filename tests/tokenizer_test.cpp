// Tokenizer tests: committed fixture (tests/fixtures/tokenizer), HF conformance data, bad files.
#include "test_support.h"
#include "zeroclip/error.h"
#include "zeroclip/tokenizer.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <unistd.h>
#include <string>
#include <vector>

namespace {

using zeroclip::Tokenizer;
namespace fs = std::filesystem;

fs::path fixture_dir() { return zeroclip::test::fixtures_dir() / "tokenizer"; }

std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    std::vector<nlohmann::json> rows;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
    }
    return rows;
}

std::string hex_to_bytes(const std::string& hex) {
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

// A scratch directory with a copy of the fixture tokenizer, for corrupting one of its files.
struct ScratchTokenizerDir {
    fs::path dir;
    explicit ScratchTokenizerDir(const std::string& name) {
        dir = fs::temp_directory_path() / ("zeroclip_tok_" + name + "_" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
        fs::copy_file(fixture_dir() / "vocab.json", dir / "vocab.json");
        fs::copy_file(fixture_dir() / "merges.txt", dir / "merges.txt");
    }
    ~ScratchTokenizerDir() { fs::remove_all(dir); }
    void write(const std::string& file, const std::string& content) const {
        std::ofstream(dir / file, std::ios::binary) << content;
    }
};

void expect_error_naming(const fs::path& dir, const std::string& needle) {
    try {
        Tokenizer::from_directory(dir);
        ADD_FAILURE() << "no error for " << dir;
    } catch (const zeroclip::Error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
}

TEST(Tokenizer, FixtureMatchesReference) {
    const Tokenizer tok = Tokenizer::from_directory(fixture_dir());
    EXPECT_EQ(tok.bos_id(), 2512);
    EXPECT_EQ(tok.eos_id(), 2513);
    EXPECT_EQ(tok.vocab_size(), 2514);
    const auto rows = read_jsonl(fixture_dir() / "expected.jsonl");
    ASSERT_GE(rows.size(), 40u);
    for (const auto& row : rows) {
        const std::string text = row.contains("bytes_hex") ? hex_to_bytes(row["bytes_hex"]) : row["text"].get<std::string>();
        EXPECT_EQ(tok.encode(text), row["ids"].get<std::vector<int32_t>>()) << row.dump();
        EXPECT_EQ(tok.encode_for_model(text, 77), row["input_ids_77"].get<std::vector<int32_t>>()) << row.dump();
    }
}

TEST(Tokenizer, ContextLengthKeepsEndToken) {
    const Tokenizer tok = Tokenizer::from_directory(fixture_dir());
    const std::string text = "one two three four five six";
    const std::vector<int32_t> body = tok.encode(text);
    ASSERT_GT(body.size(), 3u);
    const std::vector<int32_t> ids = tok.encode_for_model(text, 5);
    ASSERT_EQ(ids.size(), 5u);
    EXPECT_EQ(ids.front(), tok.bos_id());
    EXPECT_EQ(ids.back(), tok.eos_id());
    EXPECT_EQ(std::vector<int32_t>(ids.begin() + 1, ids.end() - 1), std::vector<int32_t>(body.begin(), body.begin() + 3));
    EXPECT_EQ(tok.encode_for_model(text, 2), (std::vector<int32_t>{tok.bos_id(), tok.eos_id()}));
    EXPECT_THROW(tok.encode_for_model(text, 1), zeroclip::Error);
}

TEST(Tokenizer, MissingFiles) {
    const fs::path missing = fs::temp_directory_path() / "zeroclip_no_such_dir";
    expect_error_naming(missing, (missing / "vocab.json").string());
    ScratchTokenizerDir scratch("missing_merges");
    fs::remove(scratch.dir / "merges.txt");
    expect_error_naming(scratch.dir, (scratch.dir / "merges.txt").string());
}

TEST(Tokenizer, BrokenVocab) {
    ScratchTokenizerDir scratch("broken_vocab");
    const std::string path = (scratch.dir / "vocab.json").string();
    scratch.write("vocab.json", "{\"a\": 0, \"b\": ");
    expect_error_naming(scratch.dir, path);
    scratch.write("vocab.json", "[1, 2, 3]");
    expect_error_naming(scratch.dir, path);
    scratch.write("vocab.json", "{\"a\": \"zero\"}");
    expect_error_naming(scratch.dir, path);
    scratch.write("vocab.json", "{\"a\": -1}");
    expect_error_naming(scratch.dir, path);
    scratch.write("vocab.json", "{\"a\": 0}");  // no byte symbols, no special tokens
    expect_error_naming(scratch.dir, path);
}

TEST(Tokenizer, MalformedMerges) {
    ScratchTokenizerDir scratch("bad_merges");
    const std::string path = (scratch.dir / "merges.txt").string();
    for (const char* bad : {"#version: 0.2\ni n\nt h e\n", "#version: 0.2\nth\n", "#version: 0.2\ni  n\n",
                            "#version: 0.2\n\ni n\n", "#version: 0.2\nq \xc4\xa2zz\n"}) {
        scratch.write("merges.txt", bad);
        expect_error_naming(scratch.dir, path + ":");
    }
    scratch.write("merges.txt", "#version: 0.2\ni n\r\nt h");  // CRLF and no final newline are fine
    EXPECT_NO_THROW(Tokenizer::from_directory(scratch.dir));
}

TEST(Tokenizer, Conformance) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const fs::path conformance = shared / "conformance";
    const Tokenizer tok = Tokenizer::from_directory(conformance / "models" / "tiny");
    EXPECT_EQ(tok.bos_id(), 49406);
    EXPECT_EQ(tok.eos_id(), 49407);
    EXPECT_EQ(tok.vocab_size(), 49408);

    const auto rows = read_jsonl(conformance / "tokenizer.jsonl");
    size_t matched = 0;
    for (const auto& row : rows) {
        const auto ids = tok.encode(row["text"].get<std::string>());
        if (ids == row["ids"].get<std::vector<int32_t>>()) ++matched;
        else ADD_FAILURE() << "mismatch for " << row["text"].dump();
    }
    std::printf("tokenizer conformance: %zu/%zu\n", matched, rows.size());
    EXPECT_EQ(matched, 2772u);

    for (const char* model : {"tiny", "tiny-bf16", "tiny-gelu-f16"}) {
        std::ifstream in(conformance / ("golden-" + std::string(model) + ".json"));
        const auto golden = nlohmann::json::parse(in);
        const auto& texts = golden["texts"];
        ASSERT_EQ(texts.size(), golden["input_ids"].size());
        for (size_t i = 0; i < texts.size(); ++i) {
            EXPECT_EQ(tok.encode_for_model(texts[i].get<std::string>(), 77),
                      golden["input_ids"][i].get<std::vector<int32_t>>())
                << model << ": " << texts[i].dump();
        }
    }
}

}  // namespace
