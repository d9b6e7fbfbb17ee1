// server/server_metrics.h - request counters and latency histograms, rendered with the
// batcher's figures in Prometheus' text exposition format (version 0.0.4).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "zeroclip/batcher.h"

namespace zeroclip::server {

class ServerMetrics {
public:
    ServerMetrics();

    // One answered request: its route (e.g. "/v1/embeddings", "other"), status and latency.
    void record(const std::string& endpoint, int status, double seconds);

    // `batcher` may be null (model still loading).
    std::string render(const InferenceBatcher* batcher);

private:
    struct Latency {
        std::vector<uint64_t> buckets;  // cumulative counts are computed when rendering
        uint64_t count = 0;
        double sum = 0.0;
    };
    std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, Latency> latency_;
    // images/s over the interval between two scrapes (or since the start).
    std::chrono::steady_clock::time_point last_scrape_;
    uint64_t last_images_ = 0;
};

// Bucket upper bounds of the latency histogram, in seconds.
const std::vector<double>& latency_buckets();

}  // namespace zeroclip::server
