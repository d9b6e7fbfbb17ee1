// hub/progress_bar.h - one line on stderr per download: bytes, percentage, speed and ETA,
// redrawn at most ten times a second. Silent when disabled (stderr is not a terminal).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace zeroclip::hub {

class ProgressBar {
public:
    ProgressBar(std::string label, uint64_t total_bytes, bool enabled);
    ~ProgressBar();  // ends the line if one was drawn

    // Bytes of the file now on disk; `initial` marks bytes resumed rather than transferred.
    void update(uint64_t done_bytes);
    void set_initial(uint64_t resumed_bytes);

private:
    void draw(bool final);

    std::string label_;
    uint64_t total_;
    bool enabled_;
    bool drawn_ = false;
    uint64_t done_ = 0;
    uint64_t initial_ = 0;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
};

// "605.2 MB": bytes in decimal units, as the Hub shows sizes.
std::string format_bytes(uint64_t bytes);

}  // namespace zeroclip::hub
