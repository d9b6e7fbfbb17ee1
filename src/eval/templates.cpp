// --templates NAME|FILE: a built-in template set or a file of one template a line.
#include "eval/eval_util.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace zeroclip {

std::vector<std::string> load_templates(const std::string& name_or_file) {
    std::vector<std::string> templates;
    std::error_code ec;
    if (std::filesystem::is_regular_file(name_or_file, ec)) {
        for (const auto& line : read_text_lines(name_or_file)) templates.push_back(trim(line));
        if (templates.empty()) throw Error(name_or_file + ": no templates", ErrorKind::InvalidInput);
    } else {
        std::string names;
        for (const auto& set : builtin_template_sets()) {
            if (set.name == name_or_file) templates = set.templates;
            names += (names.empty() ? "" : ", ") + set.name;
        }
        if (templates.empty())
            throw Error("--templates " + name_or_file + ": neither a file nor a built-in set (" + names + ")", ErrorKind::InvalidInput);
    }
    for (const auto& t : templates)
        if (t.find("{}") == std::string::npos)
            throw Error(name_or_file + ": template \"" + t + "\" has no {} placeholder for the label", ErrorKind::InvalidInput);
    return templates;
}

}  // namespace zeroclip
