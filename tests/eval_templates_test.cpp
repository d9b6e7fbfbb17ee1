// Built-in prompt template sets and template files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval_test_support.h"
#include "test_support.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

using namespace zeroclip;

namespace {
class EvalTemplates : public test::TempDirTest {};
}  // namespace

TEST(EvalTemplatesBuiltin, SetsHaveCLIPsSizes) {
    EXPECT_EQ(load_templates("imagenet").size(), 80u);
    EXPECT_EQ(load_templates("imagenette"), load_templates("imagenet"));
    EXPECT_EQ(load_templates("cifar10").size(), 18u);
    EXPECT_EQ(load_templates("cifar100").size(), 18u);
    EXPECT_EQ(load_templates("caltech101").size(), 34u);
    EXPECT_EQ(load_templates("openai-simple"), std::vector<std::string>{"a photo of a {}."});
    EXPECT_EQ(load_templates("imagenet").front(), "a bad photo of a {}.");
    for (const auto& set : builtin_template_sets()) {
        ASSERT_FALSE(set.templates.empty()) << set.name;
        for (const auto& t : set.templates) EXPECT_NE(t.find("{}"), std::string::npos) << set.name << ": " << t;
    }
}

TEST(EvalTemplatesBuiltin, UnknownNameListsTheSets) {
    try {
        load_templates("no-such-set");
        FAIL();
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("no-such-set"), std::string::npos);
        EXPECT_NE(message.find("imagenet"), std::string::npos);
    }
}

TEST_F(EvalTemplates, FileHasOneTemplateALine) {
    test::write_file(dir_ / "t.txt", "a photo of a {}.\r\n\n  itap of the {}.  \n");
    EXPECT_EQ(load_templates((dir_ / "t.txt").string()),
              (std::vector<std::string>{"a photo of a {}.", "itap of the {}."}));
    test::write_file(dir_ / "bad.txt", "a photo of a {}.\nno placeholder\n");
    EXPECT_THROW(load_templates((dir_ / "bad.txt").string()), Error);
    test::write_file(dir_ / "empty.txt", "\n\n");
    EXPECT_THROW(load_templates((dir_ / "empty.txt").string()), Error);
}

// The generated builtin_templates.cpp is in step with ../shared/clip/prompts.json.
TEST(EvalTemplatesShared, MatchPromptsJson) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const auto prompts = nlohmann::json::parse(test::read_file(shared / "clip" / "prompts.json"));
    size_t checked = 0;
    for (const auto& [name, entry] : prompts.items()) {
        EXPECT_EQ(load_templates(name), entry["templates"].get<std::vector<std::string>>()) << name;
        ++checked;
    }
    EXPECT_EQ(builtin_template_sets().size(), checked + 1);  // + openai-simple
}
