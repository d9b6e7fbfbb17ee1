// Prometheus metrics of the server.
#include "server/server_metrics.h"

#include <algorithm>
#include <sstream>

namespace zeroclip::server {

const std::vector<double>& latency_buckets() {
    static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    return buckets;
}

ServerMetrics::ServerMetrics() : last_scrape_(std::chrono::steady_clock::now()) {}

void ServerMetrics::record(const std::string& endpoint, int status, double seconds) {
    const auto& bounds = latency_buckets();
    std::lock_guard lock(mutex_);
    ++requests_[{endpoint, status}];
    Latency& latency = latency_[endpoint];
    if (latency.buckets.empty()) latency.buckets.assign(bounds.size(), 0);
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
    if (bucket < static_cast<long>(bounds.size())) ++latency.buckets[bucket];
    ++latency.count;
    latency.sum += seconds;
}

std::string ServerMetrics::render(const InferenceBatcher* batcher) {
    std::ostringstream out;
    out.precision(9);
    std::lock_guard lock(mutex_);
    out << "# HELP zeroclip_requests_total HTTP requests answered, by endpoint and status.\n"
        << "# TYPE zeroclip_requests_total counter\n";
    for (const auto& [key, count] : requests_)
        out << "zeroclip_requests_total{endpoint=\"" << key.first << "\",status=\"" << key.second << "\"} "
            << count << "\n";
    out << "# HELP zeroclip_request_duration_seconds Time from routing to the response, by endpoint.\n"
        << "# TYPE zeroclip_request_duration_seconds histogram\n";
    const auto& bounds = latency_buckets();
    for (const auto& [endpoint, latency] : latency_) {
        uint64_t cumulative = 0;
        for (size_t b = 0; b < bounds.size(); ++b) {
            cumulative += latency.buckets[b];
            out << "zeroclip_request_duration_seconds_bucket{endpoint=\"" << endpoint << "\",le=\"" << bounds[b]
                << "\"} " << cumulative << "\n";
        }
        out << "zeroclip_request_duration_seconds_bucket{endpoint=\"" << endpoint << "\",le=\"+Inf\"} "
            << latency.count << "\n"
            << "zeroclip_request_duration_seconds_sum{endpoint=\"" << endpoint << "\"} " << latency.sum << "\n"
            << "zeroclip_request_duration_seconds_count{endpoint=\"" << endpoint << "\"} " << latency.count << "\n";
    }
    out << "# HELP zeroclip_ready Whether the model is loaded and requests are served.\n"
        << "# TYPE zeroclip_ready gauge\n"
        << "zeroclip_ready " << (batcher ? 1 : 0) << "\n";
    if (!batcher) return out.str();

    const InferenceBatcher::Stats stats = batcher->stats();
    const char* towers[2] = {"text", "image"};
    out << "# HELP zeroclip_queue_depth Items waiting for the model, by tower.\n"
        << "# TYPE zeroclip_queue_depth gauge\n";
    for (int t = 0; t < 2; ++t)
        out << "zeroclip_queue_depth{tower=\"" << towers[t] << "\"} " << stats.queued[t] << "\n";
    out << "# HELP zeroclip_queue_admitted Items holding a queue slot (decoding, queued or running).\n"
        << "# TYPE zeroclip_queue_admitted gauge\n"
        << "zeroclip_queue_admitted " << stats.admitted << "\n"
        << "# HELP zeroclip_queue_capacity Queue slots (--queue); requests beyond them get 503.\n"
        << "# TYPE zeroclip_queue_capacity gauge\n"
        << "zeroclip_queue_capacity " << batcher->options().max_queue << "\n";
    out << "# HELP zeroclip_batch_size Items per call of a tower.\n"
        << "# TYPE zeroclip_batch_size histogram\n";
    for (int t = 0; t < 2; ++t) {
        const auto& sizes = stats.batch_sizes[t];
        uint64_t batches = 0, items = 0;
        for (size_t n = 0; n < sizes.size(); ++n) batches += sizes[n], items += sizes[n] * n;
        uint64_t cumulative = 0;
        size_t n = 0;
        for (int bound = 1;; bound *= 2) {
            for (; n < sizes.size() && static_cast<int>(n) <= bound; ++n) cumulative += sizes[n];
            out << "zeroclip_batch_size_bucket{tower=\"" << towers[t] << "\",le=\"" << bound << "\"} "
                << cumulative << "\n";
            if (n >= sizes.size()) break;
        }
        out << "zeroclip_batch_size_bucket{tower=\"" << towers[t] << "\",le=\"+Inf\"} " << batches << "\n"
            << "zeroclip_batch_size_sum{tower=\"" << towers[t] << "\"} " << items << "\n"
            << "zeroclip_batch_size_count{tower=\"" << towers[t] << "\"} " << batches << "\n";
    }
    out << "# HELP zeroclip_items_total Inputs encoded, by tower.\n"
        << "# TYPE zeroclip_items_total counter\n";
    for (int t = 0; t < 2; ++t)
        out << "zeroclip_items_total{tower=\"" << towers[t] << "\"} " << stats.items_done[t] << "\n";
    out << "# HELP zeroclip_items_dropped_total Queued inputs dropped because their client disconnected.\n"
        << "# TYPE zeroclip_items_dropped_total counter\n"
        << "zeroclip_items_dropped_total " << stats.items_dropped << "\n";
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_scrape_).count();
    const uint64_t images = stats.items_done[1];
    out << "# HELP zeroclip_images_per_second Images encoded per second since the previous scrape.\n"
        << "# TYPE zeroclip_images_per_second gauge\n"
        << "zeroclip_images_per_second " << (seconds > 0 ? (images - last_images_) / seconds : 0.0) << "\n";
    last_scrape_ = now;
    last_images_ = images;
    return out.str();
}

}  // namespace zeroclip::server
