// server/request_inputs.h - the HTTP requests' bodies turned into validated inputs. Every
// mistake is an ApiError (400 or 413) naming the field, e.g. "input[2]: not a data: URL".
// Images arrive only inline (data: URLs, base64, uploads): no path or URL is ever opened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zeroclip::server {

struct InputLimits {
    int max_inputs = 256;
    size_t max_text_bytes = 4096;
    int max_prompts = 10000;
};

struct EncodedImage {
    std::string name;            // for messages and classify's "image" field
    std::vector<uint8_t> bytes;  // the image file's bytes
};

struct EmbeddingInput {
    bool is_image = false;
    std::string text;
    EncodedImage image;
};

struct EmbeddingsRequest {
    std::vector<EmbeddingInput> inputs;
    bool base64_output = false;       // encoding_format "base64"
    std::optional<int> dimensions;    // must equal the model's when given
};

// OpenAI's body: {"input": ..., "model": ..., "encoding_format": ..., "dimensions": ...}.
// `input` is a string, or a list of strings and {"type": "image_url", "image_url": {"url": ...}}
// / {"type": "text", "text": ...} items; a string that is a data:image/...;base64, URL is an image.
EmbeddingsRequest parse_embeddings_request(const std::string& body, const InputLimits& limits);

// The bytes of a data:image/...;base64, URL; `where` names the field in errors.
std::vector<uint8_t> decode_image_data_url(const std::string& url, const std::string& where);
bool is_image_data_url(const std::string& text);

struct ClassifyRequest {
    std::vector<EncodedImage> images;
    std::vector<std::string> labels;
    std::vector<std::string> templates;  // empty: a field was absent (the caller's default)
    int top_k = 5;
};

// JSON: {"images": [data URL | base64 | {"name": ..., "data": data URL or base64}], "labels":
// [..] or "a,b", "template": "...", "templates": [..] or a built-in set name, "top_k": K}.
ClassifyRequest parse_classify_json(const std::string& body, const InputLimits& limits);

// A multipart/form-data part.
struct FormPart {
    std::string name;
    std::string filename;
    std::string content;
};

// Multipart: "image" parts (files, repeatable), "labels" (comma-separated or one per line),
// "template" (repeatable) or "templates" (a built-in set name), "top_k".
ClassifyRequest parse_classify_form(const std::vector<FormPart>& parts, const InputLimits& limits);

}  // namespace zeroclip::server
