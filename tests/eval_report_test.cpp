// Report files: metrics.json's layout, the CSVs, and report.html being well-formed,
// self-contained and escaped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "eval_test_support.h"
#include "zeroclip/eval.h"

namespace fs = std::filesystem;
using namespace zeroclip;

namespace {

class EvalReportFiles : public test::TempDirTest {};

EvalReport sample_report(int classes) {
    EvalReport r;
    r.dataset = "imagefolder:/data/pets";
    r.model = "models/tiny";
    r.templates = {"a photo of a {}.", "a <b>{}</b>."};
    for (int c = 0; c < classes; ++c) r.class_names.push_back("class " + std::to_string(c));
    r.class_names[0] = "cat <\"&'> , dog";
    for (int i = 0; i < 4 * classes; ++i) {
        const int label = i % classes, predicted = i % 3 == 0 ? (label + 1) % classes : label;
        ScoredImage s{"/data/img" + std::to_string(i) + (i == 1 ? ",odd \"name\".png" : ".png"), label, {}};
        s.top.push_back({predicted, 0.75f});
        for (int k = 0; k < std::min(classes, 5) - 1; ++k)
            s.top.push_back({(predicted + 1 + k) % classes, 0.25f / 4});
        r.images.push_back(s);
    }
    r.skipped = {{"/data/broken.jpg", "/data/broken.jpg: not a JPEG <file>"}};
    r.metrics = compute_metrics(classes, r.images);
    r.seconds = 1.5;
    r.images_per_s = 42.0;
    return r;
}

// Checks that every element is closed in order (void elements excepted) and returns the
// problems found; also collects attribute-free tag names.
std::string check_html(const std::string& html, std::multiset<std::string>& tags) {
    static const std::set<std::string> void_elements = {"meta", "br", "hr", "img", "input", "link"};
    std::vector<std::string> stack;
    size_t pos = 0;
    while ((pos = html.find('<', pos)) != std::string::npos) {
        if (html.compare(pos, 9, "<!DOCTYPE") == 0 || html.compare(pos, 4, "<!--") == 0) {
            pos = html.find('>', pos);
            continue;
        }
        const size_t end = html.find('>', pos);
        if (end == std::string::npos) return "unterminated tag at " + std::to_string(pos);
        std::string tag = html.substr(pos + 1, end - pos - 1);
        pos = end + 1;
        const bool closing = !tag.empty() && tag[0] == '/';
        const bool self_closing = !tag.empty() && tag.back() == '/';
        if (closing) tag.erase(0, 1);
        std::string name;
        for (char c : tag) {
            if (!std::isalnum(static_cast<unsigned char>(c))) break;
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (name.empty()) return "bad tag <" + tag + ">";
        if (tag.find('<') != std::string::npos) return "'<' inside tag <" + tag + ">";
        tags.insert(name);
        if (closing) {
            if (stack.empty() || stack.back() != name)
                return "</" + name + "> closes <" + (stack.empty() ? "nothing" : stack.back()) + ">";
            stack.pop_back();
        } else if (!self_closing && !void_elements.count(name)) {
            stack.push_back(name);
        }
    }
    if (!stack.empty()) return "<" + stack.back() + "> never closed";
    return "";
}

}  // namespace

TEST(EvalReportJson, HasCLIPBenchmarkLayout) {
    const EvalReport r = sample_report(3);
    const auto j = nlohmann::json::parse(metrics_json(r));
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"dataset", "images_per_s", "metrics", "model", "n", "per_class",
                                              "seconds", "skipped", "task", "templates"}));
    EXPECT_EQ(j["task"], "zeroshot_classification");
    EXPECT_EQ(j["dataset"], r.dataset);
    EXPECT_EQ(j["model"], r.model);
    EXPECT_EQ(j["templates"], r.templates);
    EXPECT_EQ(j["n"], 12);
    EXPECT_EQ(j["skipped"][0]["path"], "/data/broken.jpg");
    EXPECT_DOUBLE_EQ(j["metrics"]["acc1"].get<double>(), r.metrics.acc1);
    EXPECT_DOUBLE_EQ(j["metrics"]["acc5"].get<double>(), r.metrics.acc1);  // 3 classes
    EXPECT_DOUBLE_EQ(j["metrics"]["mean_per_class_recall"].get<double>(), r.metrics.mean_per_class_recall);
    EXPECT_EQ(j["per_class"].size(), 3u);
    EXPECT_EQ(j["per_class"]["class 1"]["n"], 4);
    EXPECT_DOUBLE_EQ(j["per_class"]["class 1"]["recall"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["per_class"]["cat <\"&'> , dog"]["recall"].get<double>(), 0.0);  // i % 3 == 0: wrong
    EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(j["images_per_s"].get<double>(), 42.0);
}

TEST(EvalReportJson, UndefinedValuesAreNull) {
    EvalReport r = sample_report(3);
    r.class_names.push_back("never seen");
    r.metrics = compute_metrics(4, r.images);
    const auto j = nlohmann::json::parse(metrics_json(r));
    EXPECT_TRUE(j["per_class"]["never seen"]["recall"].is_null());
    EXPECT_TRUE(j["per_class"]["never seen"]["precision"].is_null());
}

TEST_F(EvalReportFiles, CsvFilesAreQuoted) {
    const EvalReport r = sample_report(6);
    write_report_files(r, dir_ / "out");
    for (const char* name : {"metrics.json", "predictions.csv", "confusion.csv", "report.html"})
        EXPECT_TRUE(fs::exists(dir_ / "out" / name)) << name;

    std::istringstream predictions(test::read_file(dir_ / "out" / "predictions.csv"));
    std::string line;
    std::getline(predictions, line);
    EXPECT_EQ(line, "path,label,top1,p1,top2,p2,top3,p3,top4,p4,top5,p5");
    std::getline(predictions, line);
    EXPECT_EQ(line, "/data/img0.png,\"cat <\"\"&'> , dog\",class 1,0.75,class 2,0.0625,class 3,0.0625,"
                    "class 4,0.0625,class 5,0.0625");
    std::getline(predictions, line);
    EXPECT_EQ(line.rfind("\"/data/img1,odd \"\"name\"\".png\",class 1,", 0), 0u) << line;

    std::istringstream confusion(test::read_file(dir_ / "out" / "confusion.csv"));
    std::getline(confusion, line);
    EXPECT_EQ(line, "true\\predicted,\"cat <\"\"&'> , dog\",class 1,class 2,class 3,class 4,class 5");
    std::getline(confusion, line);
    EXPECT_EQ(line, "\"cat <\"\"&'> , dog\",0,4,0,0,0,0");  // every class-0 image has i % 3 == 0
}

TEST(EvalReportHtml, IsWellFormedSelfContainedAndEscaped) {
    for (int classes : {3, 10, 120}) {
        const EvalReport r = sample_report(classes);
        const std::string html = report_html(r);
        std::multiset<std::string> tags;
        EXPECT_EQ(check_html(html, tags), "") << classes << " classes";
        EXPECT_EQ(tags.count("svg"), 6u) << "three charts, opened and closed";
        EXPECT_GT(tags.count("rect"), static_cast<size_t>(classes));
        EXPECT_EQ(tags.count("script"), 0u);
        EXPECT_EQ(html.find("http:"), std::string::npos);
        EXPECT_EQ(html.find("https:"), std::string::npos);
        EXPECT_EQ(html.find("url("), std::string::npos);
        EXPECT_EQ(html.find("src="), std::string::npos);
        EXPECT_NE(html.find("cat &lt;&quot;&amp;&#39;&gt; , dog"), std::string::npos);
        EXPECT_NE(html.find("a &lt;b&gt;{}&lt;/b&gt;."), std::string::npos);
        EXPECT_NE(html.find("not a JPEG &lt;file&gt;"), std::string::npos);
        EXPECT_LT(html.size(), 2'000'000u);
    }
}
