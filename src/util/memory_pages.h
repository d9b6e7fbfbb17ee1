// Handing memory that will not be read again back to the kernel.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace zeroclip {

// Asks the kernel to reclaim the whole pages inside [data, data + bytes): pages of a mapped file
// are dropped (and re-read should anyone touch them again), so weights that were converted or
// packed elsewhere stop counting towards the resident set.
inline void release_pages(const void* data, size_t bytes) {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
    const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
}

}  // namespace zeroclip
