// zeroclip/batcher.h - dynamic batching for a server: requests from concurrent callers are
// gathered into one batch per tower (up to max_batch items, waiting at most max_wait for more),
// run on one model thread, and their rows handed back to each caller. Admission is bounded:
// callers reserve queue slots before doing expensive work (decoding), and are refused when the
// queue is full instead of growing memory without bound.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "zeroclip/clip.h"
#include "zeroclip/model.h"

namespace zeroclip {

struct BatcherOptions {
    int max_batch = 32;                        // items per call of a tower
    std::chrono::microseconds max_wait{5000};  // how long the oldest item waits for company
    int max_queue = 256;                       // items admitted (decoding, queued or running)
};

enum class Tower { Text = 0, Image = 1 };

// Set by a caller that no longer wants its result (its client disconnected): its items still
// queued are dropped from their batch; the other requests are not affected.
using CancelFlag = std::shared_ptr<std::atomic<bool>>;

// The batch size the towers run `gathered` items at (the rest follows in more batches):
// max_batch when that many are there, otherwise the largest power of two not above `gathered`.
int model_batch_size(int gathered, int max_batch);

class InferenceBatcher {
public:
    // Slots in the queue, held from admission until the items are submitted; slots not
    // submitted are given back when the reservation is destroyed.
    class Reservation {
    public:
        Reservation() = default;
        Reservation(Reservation&& other) noexcept;
        Reservation& operator=(Reservation&& other) noexcept;
        ~Reservation();
        explicit operator bool() const { return owner_ != nullptr; }
        int size() const { return count_; }

    private:
        friend class InferenceBatcher;
        Reservation(InferenceBatcher* owner, int count) : owner_(owner), count_(count) {}
        InferenceBatcher* owner_ = nullptr;
        int count_ = 0;
    };

    struct Stats {
        int admitted = 0;                   // items holding a queue slot
        int queued[2] = {0, 0};             // items waiting for the model, per tower
        uint64_t items_done[2] = {0, 0};    // items encoded, per tower
        uint64_t items_dropped = 0;         // items dropped because their caller cancelled
        std::vector<uint64_t> batch_sizes[2];  // batches run, by size (index = size), per tower
    };

    // `clip` must outlive the batcher; only the batcher's model thread calls its towers.
    InferenceBatcher(Clip& clip, const BatcherOptions& options);
    ~InferenceBatcher();
    InferenceBatcher(const InferenceBatcher&) = delete;
    InferenceBatcher& operator=(const InferenceBatcher&) = delete;

    const BatcherOptions& options() const { return options_; }
    Clip& clip() { return clip_; }

    // `count` slots, or an empty reservation when they would exceed max_queue (or the batcher is
    // stopping). A count above max_queue can never be admitted: callers reject it beforehand.
    Reservation reserve(int count);
    // Whether no slot is free: a request can be refused before its body is parsed and decoded
    // (under overload, rejecting must cost far less than serving).
    bool full() const;

    // Token id sequences (Clip::tokenize) -> get_text_features rows, in order. The reservation
    // must hold exactly token_ids.size() slots. Throws zeroclip::Error once stopping.
    std::future<Matrix> submit_texts(Reservation reservation, std::vector<std::vector<int32_t>> token_ids,
                                     CancelFlag cancelled);

    // `count` images' pixel values (Clip::pixel_values, concatenated) -> get_image_features rows.
    std::future<Matrix> submit_images(Reservation reservation, std::vector<float> pixel_values, int count,
                                      CancelFlag cancelled);

    // Runs `task` on the model thread between batches (for work that calls the towers directly,
    // such as encoding a classifier's prompts); it takes no queue slot.
    std::future<void> run_on_model_thread(std::function<void(Clip&)> task);

    // Stops admitting, finishes everything already submitted, joins the model thread.
    void stop();

    Stats stats() const;

private:
    struct Request;
    struct Item {
        std::shared_ptr<Request> request;
        int row = 0;
        std::chrono::steady_clock::time_point enqueued;
    };

    void release(int count);
    std::future<Matrix> submit(Tower tower, std::shared_ptr<Request> request, Reservation reservation);
    void model_loop();
    void run_batch(Tower tower, std::vector<Item> items);  // as chunks of model_batch_size
    void run_chunk(Tower tower, std::vector<Item> items);

    Clip& clip_;
    const BatcherOptions options_;
    const int dim_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Item> queues_[2];
    std::deque<std::packaged_task<void()>> tasks_;
    bool stopping_ = false;
    int admitted_ = 0;
    uint64_t items_done_[2] = {0, 0};
    uint64_t items_dropped_ = 0;
    std::vector<uint64_t> batch_sizes_[2];
    std::vector<float> batch_pixels_;  // the images of the batch running; model thread only
    std::thread model_thread_;
};

}  // namespace zeroclip
