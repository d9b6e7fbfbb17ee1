// Shared by the index, search and dedup commands: options common to them, opening the model an
// index records (or the one given, which must be the same), and one JSON line per hit.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "zeroclip/index.h"

namespace zeroclip::cli {

struct IndexCliOptions {
    std::string db;
    std::string model;      // empty: the recorded one
    std::string precision;  // empty: the recorded one (fp32 for a new index)
    std::string device = "cpu";
    int threads = 0;
    size_t hnsw_threshold = IndexOptions{}.hnsw_threshold;
};

void add_index_cli_options(CLI::App& command, IndexCliOptions& options, bool with_precision);
IndexOptions index_options(const IndexCliOptions& options);

// The model to run against `index`: `options.model` when given (refused if it differs from
// the recorded one), else the recorded one, in the recorded precision.
Clip open_index_model(const Index& index, const IndexCliOptions& options);

std::string hit_json(const SearchHit& hit);  // {"path": ..., "score": ..., "row": ...}

}  // namespace zeroclip::cli
