// Dynamic batching: one model thread serves a queue per tower.
#include "zeroclip/batcher.h"

#include <algorithm>

#include "zeroclip/error.h"

namespace zeroclip {

// One caller's submission: its inputs, the rows filled in as its items are encoded, and the
// promise fulfilled when the last one is done. Touched only under the batcher's mutex or on
// the model thread.
struct InferenceBatcher::Request {
    Tower tower = Tower::Text;
    std::vector<std::vector<int32_t>> token_ids;
    std::vector<float> pixel_values;
    size_t per_image = 0;
    Matrix out;
    int remaining = 0;
    bool dropped = false;
    std::exception_ptr failure;  // the first batch of this request that failed
    CancelFlag cancelled;
    std::promise<Matrix> done;

    bool is_cancelled() const { return cancelled && cancelled->load(std::memory_order_relaxed); }
};

InferenceBatcher::Reservation::Reservation(Reservation&& other) noexcept
    : owner_(other.owner_), count_(other.count_) {
    other.owner_ = nullptr;
    other.count_ = 0;
}

InferenceBatcher::Reservation& InferenceBatcher::Reservation::operator=(Reservation&& other) noexcept {
    if (this != &other) {
        if (owner_) owner_->release(count_);
        owner_ = other.owner_;
        count_ = other.count_;
        other.owner_ = nullptr;
        other.count_ = 0;
    }
    return *this;
}

InferenceBatcher::Reservation::~Reservation() {
    if (owner_) owner_->release(count_);
}

InferenceBatcher::InferenceBatcher(Clip& clip, const BatcherOptions& options)
    : clip_(clip), options_(options), dim_(clip.config().projection_dim) {
    if (options_.max_batch < 1) throw Error("max batch must be at least 1");
    if (options_.max_queue < 1) throw Error("queue size must be at least 1");
    if (options_.max_wait.count() < 0) throw Error("max wait must not be negative");
    for (auto& sizes : batch_sizes_) sizes.assign(options_.max_batch + 1, 0);
    model_thread_ = std::thread([this] { model_loop(); });
}

InferenceBatcher::~InferenceBatcher() { stop(); }

InferenceBatcher::Reservation InferenceBatcher::reserve(int count) {
    if (count < 1) return {};
    std::lock_guard lock(mutex_);
    if (stopping_ || admitted_ + count > options_.max_queue) return {};
    admitted_ += count;
    return Reservation(this, count);
}

bool InferenceBatcher::full() const {
    std::lock_guard lock(mutex_);
    return stopping_ || admitted_ >= options_.max_queue;
}

void InferenceBatcher::release(int count) {
    std::lock_guard lock(mutex_);
    admitted_ -= count;
}

std::future<Matrix> InferenceBatcher::submit_texts(Reservation reservation,
                                                   std::vector<std::vector<int32_t>> token_ids,
                                                   CancelFlag cancelled) {
    auto request = std::make_shared<Request>();
    request->tower = Tower::Text;
    request->out = Matrix{static_cast<int>(token_ids.size()), dim_, {}};
    request->token_ids = std::move(token_ids);
    request->cancelled = std::move(cancelled);
    return submit(Tower::Text, std::move(request), std::move(reservation));
}

std::future<Matrix> InferenceBatcher::submit_images(Reservation reservation, std::vector<float> pixel_values,
                                                    int count, CancelFlag cancelled) {
    const auto& pre = clip_.preprocess_config();
    const size_t per_image = 3 * static_cast<size_t>(pre.crop_height) * pre.crop_width;
    if (count < 0 || pixel_values.size() != per_image * static_cast<size_t>(count))
        throw Error("submit_images: pixel values do not hold " + std::to_string(count) + " images");
    auto request = std::make_shared<Request>();
    request->tower = Tower::Image;
    request->out = Matrix{count, dim_, {}};
    request->pixel_values = std::move(pixel_values);
    request->per_image = per_image;
    request->cancelled = std::move(cancelled);
    return submit(Tower::Image, std::move(request), std::move(reservation));
}

std::future<Matrix> InferenceBatcher::submit(Tower tower, std::shared_ptr<Request> request,
                                             Reservation reservation) {
    const int rows = request->out.rows;
    if (reservation.owner_ != this || reservation.count_ != rows)
        throw Error("batcher: the reservation does not match the " + std::to_string(rows) + " items submitted");
    request->out.data.resize(static_cast<size_t>(rows) * dim_);
    request->remaining = rows;
    std::future<Matrix> result = request->done.get_future();
    if (rows == 0) {
        request->done.set_value(std::move(request->out));
        return result;
    }
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw Error("the server is shutting down");
        const auto now = std::chrono::steady_clock::now();
        for (int r = 0; r < rows; ++r) queues_[static_cast<int>(tower)].push_back({request, r, now});
        // The slots now belong to the queued items: released one by one as they finish.
        reservation.owner_ = nullptr;
        reservation.count_ = 0;
    }
    wake_.notify_all();
    return result;
}

std::future<void> InferenceBatcher::run_on_model_thread(std::function<void(Clip&)> task) {
    std::packaged_task<void()> packaged([this, task = std::move(task)] { task(clip_); });
    std::future<void> result = packaged.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw Error("the server is shutting down");
        tasks_.push_back(std::move(packaged));
    }
    wake_.notify_all();
    return result;
}

void InferenceBatcher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (model_thread_.joinable()) model_thread_.join();
}

InferenceBatcher::Stats InferenceBatcher::stats() const {
    std::lock_guard lock(mutex_);
    Stats s;
    s.admitted = admitted_;
    for (int t = 0; t < 2; ++t) {
        s.queued[t] = static_cast<int>(queues_[t].size());
        s.items_done[t] = items_done_[t];
        s.batch_sizes[t] = batch_sizes_[t];
    }
    s.items_dropped = items_dropped_;
    return s;
}

void InferenceBatcher::model_loop() {
    using clock = std::chrono::steady_clock;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] {
            return stopping_ || !tasks_.empty() || !queues_[0].empty() || !queues_[1].empty();
        });
        if (!tasks_.empty()) {
            std::packaged_task<void()> task = std::move(tasks_.front());
            tasks_.pop_front();
            lock.unlock();
            task();  // exceptions go to the caller's future
            lock.lock();
            continue;
        }
        if (queues_[0].empty() && queues_[1].empty()) {
            if (stopping_) return;
            continue;
        }
        // The tower whose oldest item has waited longest goes first, so neither starves.
        int tower = 0;
        if (queues_[0].empty() ||
            (!queues_[1].empty() && queues_[1].front().enqueued < queues_[0].front().enqueued))
            tower = 1;
        auto& queue = queues_[tower];
        const auto deadline = queue.front().enqueued + options_.max_wait;
        // Wait for a full batch or the deadline; when stopping, drain what is there at once.
        wake_.wait_until(lock, deadline, [&] {
            return stopping_ || !tasks_.empty() || static_cast<int>(queue.size()) >= options_.max_batch;
        });
        if (!tasks_.empty() && static_cast<int>(queue.size()) < options_.max_batch && clock::now() < deadline)
            continue;  // run the task first; the deadline still holds for this queue
        std::vector<Item> batch;
        int dropped = 0;
        while (!queue.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
            Item item = std::move(queue.front());
            queue.pop_front();
            if (item.request->is_cancelled()) {
                ++dropped;
                item.request->dropped = true;
                if (--item.request->remaining == 0)
                    item.request->done.set_exception(std::make_exception_ptr(Error("request cancelled")));
                continue;
            }
            batch.push_back(std::move(item));
        }
        admitted_ -= dropped;
        items_dropped_ += dropped;
        if (batch.empty()) continue;
        lock.unlock();
        run_batch(static_cast<Tower>(tower), std::move(batch));
        lock.lock();
    }
}

int model_batch_size(int gathered, int max_batch) {
    if (gathered >= max_batch) return max_batch;
    int size = 1;
    while (size * 2 <= gathered) size *= 2;
    return size;
}

void InferenceBatcher::run_batch(Tower tower, std::vector<Item> items) {
    // Every batch size the towers run at costs memory for its kernels and buffers, which stays:
    // run as chunks of max_batch and powers of two (13 items: 8, 4, 1), at most 7 sizes, rather
    // than up to max_batch sizes (on ViT-B/32 bf16, every size 1..32 grew the process by 46 MB
    // over the sizes of full batches, these 11 MB).
    for (size_t first = 0; first < items.size();) {
        const int n = model_batch_size(static_cast<int>(items.size() - first), options_.max_batch);
        std::vector<Item> chunk(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(first)),
                                std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(first) + n));
        run_chunk(tower, std::move(chunk));
        first += static_cast<size_t>(n);
    }
}

void InferenceBatcher::run_chunk(Tower tower, std::vector<Item> items) {
    const int n = static_cast<int>(items.size());
    std::exception_ptr failure;
    Matrix rows;
    try {
        if (tower == Tower::Text) {
            std::vector<std::vector<int32_t>> ids;
            ids.reserve(n);
            for (const auto& item : items) ids.push_back(item.request->token_ids[item.row]);
            rows = clip_.model().encode_texts(ids);
        } else {
            const size_t per_image = items.front().request->per_image;
            // Kept between batches: a fresh 19 MB buffer per batch (ViT-B/32, 32 images) only
            // churns the allocator.
            batch_pixels_.resize(per_image * n);
            for (int i = 0; i < n; ++i) {
                const float* src = items[i].request->pixel_values.data() + per_image * items[i].row;
                std::copy(src, src + per_image, batch_pixels_.begin() + per_image * i);
            }
            rows = clip_.model().encode_images(batch_pixels_.data(), n);
        }
    } catch (...) {
        failure = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    for (int i = 0; i < n; ++i) {
        Request& request = *items[i].request;
        if (failure) request.failure = failure;
        else std::copy(rows.row(i), rows.row(i) + dim_, request.out.row(items[i].row));
        if (--request.remaining > 0) continue;
        if (request.failure) request.done.set_exception(request.failure);
        else if (request.dropped) request.done.set_exception(std::make_exception_ptr(Error("request cancelled")));
        else request.done.set_value(std::move(request.out));
    }
    admitted_ -= n;
    items_done_[static_cast<int>(tower)] += n;
    ++batch_sizes_[static_cast<int>(tower)][n];
}

}  // namespace zeroclip
