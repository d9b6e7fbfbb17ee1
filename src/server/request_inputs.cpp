// Parsing and validating the bodies of /v1/embeddings and /v1/classify.
#include "server/request_inputs.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/base64.h"
#include "zeroclip/eval.h"

namespace zeroclip::server {

namespace {

using nlohmann::json;

ApiError bad_request(const std::string& code, const std::string& message) {
    return ApiError(400, code, message);
}

json parse_json_object(const std::string& body) {
    json parsed;
    try {
        parsed = json::parse(body);
    } catch (const json::parse_error& e) {
        // nlohmann's message starts with "[json.exception.parse_error.101] parse error at ...".
        std::string detail = e.what();
        if (const auto pos = detail.find("] "); pos != std::string::npos) detail = detail.substr(pos + 2);
        throw bad_request("invalid_json", "request body is not valid JSON: " + detail);
    }
    if (!parsed.is_object()) throw bad_request("invalid_json", "request body must be a JSON object");
    return parsed;
}

std::string type_name(const json& value) { return value.type_name(); }

void check_text(const std::string& text, const std::string& where, const InputLimits& limits) {
    if (text.size() > limits.max_text_bytes)
        throw ApiError(413, "text_too_long", where + ": text of " + std::to_string(text.size()) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(limits.max_text_bytes));
}

void check_count(size_t count, const std::string& what, const InputLimits& limits) {
    if (count > static_cast<size_t>(limits.max_inputs))
        throw ApiError(413, "too_many_inputs", what + ": " + std::to_string(count) +
                                                   " inputs exceed the limit of " +
                                                   std::to_string(limits.max_inputs) + " per request");
}

// A data: URL or bare base64 (classify's JSON accepts both).
std::vector<uint8_t> decode_image_text(const std::string& text, const std::string& where) {
    if (text.rfind("data:", 0) == 0) return decode_image_data_url(text, where);
    auto bytes = base64_decode(text);
    if (!bytes) throw bad_request("invalid_base64", where + ": not valid base64 image data");
    if (bytes->empty()) throw bad_request("invalid_image", where + ": empty image");
    return std::move(*bytes);
}

std::vector<std::string> split_labels(const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    auto flush = [&] {
        const auto begin = item.find_first_not_of(" \t\r");
        if (begin != std::string::npos) out.push_back(item.substr(begin, item.find_last_not_of(" \t\r") - begin + 1));
        item.clear();
    };
    for (char c : text) {
        if (c == ',' || c == '\n') flush();
        else item += c;
    }
    flush();
    return out;
}

std::vector<std::string> builtin_templates(const std::string& name) {
    for (const auto& set : builtin_template_sets())
        if (set.name == name) return set.templates;
    std::string known;
    for (const auto& set : builtin_template_sets()) known += (known.empty() ? "" : ", ") + set.name;
    throw bad_request("invalid_templates", "templates: unknown built-in set \"" + name + "\" (known: " + known + ")");
}

void check_classify(ClassifyRequest& request, const InputLimits& limits) {
    if (request.images.empty()) throw bad_request("missing_images", "images: no image given");
    check_count(request.images.size(), "images", limits);
    if (request.labels.empty()) throw bad_request("missing_labels", "labels: no label given");
    for (size_t i = 0; i < request.labels.size(); ++i)
        check_text(request.labels[i], "labels[" + std::to_string(i) + "]", limits);
    for (size_t i = 0; i < request.templates.size(); ++i) {
        const std::string where = "templates[" + std::to_string(i) + "]";
        check_text(request.templates[i], where, limits);
        if (request.templates[i].find("{}") == std::string::npos)
            throw bad_request("invalid_templates", where + ": template has no {} placeholder for the label");
    }
    const size_t prompts = request.labels.size() * std::max<size_t>(1, request.templates.size());
    if (prompts > static_cast<size_t>(limits.max_prompts))
        throw ApiError(413, "too_many_prompts", "labels x templates: " + std::to_string(prompts) +
                                                    " prompts exceed the limit of " +
                                                    std::to_string(limits.max_prompts));
    if (request.top_k < 1) throw bad_request("invalid_top_k", "top_k: must be a positive integer");
}

}  // namespace

bool is_image_data_url(const std::string& text) { return text.rfind("data:image/", 0) == 0; }

std::vector<uint8_t> decode_image_data_url(const std::string& url, const std::string& where) {
    if (url.rfind("data:", 0) != 0)
        throw bad_request("invalid_image_url",
                          where + ": only data:image/...;base64, URLs are accepted (the server fetches nothing)");
    const auto comma = url.find(',');
    if (comma == std::string::npos) throw bad_request("invalid_image_url", where + ": data: URL has no comma");
    const std::string header = url.substr(5, comma - 5);
    if (header.rfind("image/", 0) != 0)
        throw bad_request("invalid_image_url", where + ": data: URL is not an image (" + header + ")");
    if (header.size() < 7 || header.compare(header.size() - 7, 7, ";base64") != 0)
        throw bad_request("invalid_image_url", where + ": data: URL must be base64-encoded (;base64,)");
    auto bytes = base64_decode(std::string_view(url).substr(comma + 1));
    if (!bytes) throw bad_request("invalid_base64", where + ": data: URL holds invalid base64");
    if (bytes->empty()) throw bad_request("invalid_image", where + ": empty image");
    return std::move(*bytes);
}

EmbeddingsRequest parse_embeddings_request(const std::string& body, const InputLimits& limits) {
    const json request = parse_json_object(body);
    EmbeddingsRequest out;
    if (!request.contains("input")) throw bad_request("missing_input", "input: required field missing");
    const json& input = request["input"];
    if (request.contains("model") && !request["model"].is_string())
        throw bad_request("invalid_type", "model: expected a string, got " + type_name(request["model"]));
    if (request.contains("encoding_format")) {
        const json& format = request["encoding_format"];
        if (format == "base64") out.base64_output = true;
        else if (format != "float")
            throw bad_request("invalid_encoding_format",
                              "encoding_format: expected \"float\" or \"base64\", got " + format.dump());
    }
    if (request.contains("dimensions") && !request["dimensions"].is_null()) {
        if (!request["dimensions"].is_number_integer())
            throw bad_request("invalid_type", "dimensions: expected an integer, got " + type_name(request["dimensions"]));
        out.dimensions = request["dimensions"].get<int>();
    }

    std::vector<const json*> items;
    if (input.is_string()) items.push_back(&input);
    else if (input.is_array()) {
        check_count(input.size(), "input", limits);
        for (const auto& item : input) items.push_back(&item);
    } else {
        throw bad_request("invalid_type", "input: expected a string or a list, got " + type_name(input));
    }
    if (items.empty()) throw bad_request("missing_input", "input: empty list");
    for (size_t i = 0; i < items.size(); ++i) {
        const json& item = *items[i];
        const std::string where = input.is_array() ? "input[" + std::to_string(i) + "]" : "input";
        EmbeddingInput parsed;
        if (item.is_string()) {
            const std::string text = item.get<std::string>();
            if (is_image_data_url(text)) {
                parsed.is_image = true;
                parsed.image = {where, decode_image_data_url(text, where)};
            } else {
                check_text(text, where, limits);
                parsed.text = text;
            }
        } else if (item.is_object()) {
            const std::string type = item.contains("type") && item["type"].is_string() ? item["type"].get<std::string>() : "";
            if (type == "image_url") {
                const json* url = item.contains("image_url") ? &item["image_url"] : nullptr;
                if (url && url->is_object() && url->contains("url")) url = &(*url)["url"];
                if (!url || !url->is_string())
                    throw bad_request("invalid_type", where + ": image_url item needs \"image_url\": {\"url\": \"data:image/...\"}");
                parsed.is_image = true;
                parsed.image = {where, decode_image_data_url(url->get<std::string>(), where)};
            } else if (type == "text") {
                if (!item.contains("text") || !item["text"].is_string())
                    throw bad_request("invalid_type", where + ": text item needs \"text\": string");
                parsed.text = item["text"].get<std::string>();
                check_text(parsed.text, where, limits);
            } else {
                throw bad_request("invalid_type", where + ": object items need \"type\": \"image_url\" or \"text\"");
            }
        } else {
            // OpenAI also takes token arrays; this server embeds text and images only.
            throw bad_request("invalid_type", where + ": expected a string or an image_url object, got " + type_name(item));
        }
        out.inputs.push_back(std::move(parsed));
    }
    return out;
}

ClassifyRequest parse_classify_json(const std::string& body, const InputLimits& limits) {
    const json request = parse_json_object(body);
    ClassifyRequest out;
    if (!request.contains("images")) throw bad_request("missing_images", "images: required field missing");
    const json& images = request["images"];
    if (!images.is_array()) throw bad_request("invalid_type", "images: expected a list, got " + type_name(images));
    check_count(images.size(), "images", limits);
    for (size_t i = 0; i < images.size(); ++i) {
        const std::string where = "images[" + std::to_string(i) + "]";
        const json& item = images[i];
        if (item.is_string()) {
            out.images.push_back({where, decode_image_text(item.get<std::string>(), where)});
        } else if (item.is_object() && item.contains("data") && item["data"].is_string()) {
            std::string name = where;
            if (item.contains("name")) {
                if (!item["name"].is_string()) throw bad_request("invalid_type", where + ".name: expected a string");
                name = item["name"].get<std::string>();
            }
            out.images.push_back({name, decode_image_text(item["data"].get<std::string>(), where)});
        } else {
            throw bad_request("invalid_type", where + ": expected a data: URL, base64 or {\"name\", \"data\"}");
        }
    }
    if (!request.contains("labels")) throw bad_request("missing_labels", "labels: required field missing");
    const json& labels = request["labels"];
    if (labels.is_string()) out.labels = split_labels(labels.get<std::string>());
    else if (labels.is_array()) {
        for (size_t i = 0; i < labels.size(); ++i) {
            if (!labels[i].is_string())
                throw bad_request("invalid_type", "labels[" + std::to_string(i) + "]: expected a string, got " + type_name(labels[i]));
            out.labels.push_back(labels[i].get<std::string>());
        }
    } else {
        throw bad_request("invalid_type", "labels: expected a list or a comma-separated string, got " + type_name(labels));
    }
    if (request.contains("template")) {
        if (!request["template"].is_string()) throw bad_request("invalid_type", "template: expected a string");
        out.templates.push_back(request["template"].get<std::string>());
    }
    if (request.contains("templates")) {
        const json& templates = request["templates"];
        if (templates.is_string()) {
            for (auto& t : builtin_templates(templates.get<std::string>())) out.templates.push_back(t);
        } else if (templates.is_array()) {
            for (size_t i = 0; i < templates.size(); ++i) {
                if (!templates[i].is_string())
                    throw bad_request("invalid_type", "templates[" + std::to_string(i) + "]: expected a string");
                out.templates.push_back(templates[i].get<std::string>());
            }
        } else {
            throw bad_request("invalid_type", "templates: expected a list or a built-in set name");
        }
    }
    if (request.contains("top_k")) {
        if (!request["top_k"].is_number_integer()) throw bad_request("invalid_top_k", "top_k: must be a positive integer");
        const auto k = request["top_k"].get<int64_t>();
        out.top_k = static_cast<int>(std::clamp<int64_t>(k, -1, 1 << 20));
    }
    check_classify(out, limits);
    return out;
}

ClassifyRequest parse_classify_form(const std::vector<FormPart>& parts, const InputLimits& limits) {
    ClassifyRequest out;
    for (const auto& part : parts) {
        if (part.name == "image" || part.name == "images") {
            const std::string name = part.filename.empty() ? "image[" + std::to_string(out.images.size()) + "]" : part.filename;
            if (part.content.empty()) throw bad_request("invalid_image", name + ": empty image");
            out.images.push_back({name, {part.content.begin(), part.content.end()}});
        } else if (part.name == "labels") {
            for (auto& l : split_labels(part.content)) out.labels.push_back(l);
        } else if (part.name == "template") {
            out.templates.push_back(part.content);
        } else if (part.name == "templates") {
            for (auto& t : builtin_templates(part.content)) out.templates.push_back(t);
        } else if (part.name == "top_k") {
            try {
                size_t used = 0;
                out.top_k = std::stoi(part.content, &used);
                if (used != part.content.size()) out.top_k = 0;
            } catch (const std::exception&) {
                out.top_k = 0;
            }
        } else {
            throw bad_request("unknown_field", "form field \"" + part.name + "\" is not one of image, labels, template, templates, top_k");
        }
    }
    check_classify(out, limits);
    return out;
}

}  // namespace zeroclip::server
