#include "util/regular_file.h"

#include <sys/stat.h>

#include "zeroclip/error.h"

namespace zeroclip {

std::string special_file_kind(const std::filesystem::path& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return "";
    if (S_ISDIR(st.st_mode)) return "a directory";
    if (S_ISFIFO(st.st_mode)) return "a FIFO";
    if (S_ISCHR(st.st_mode)) return "a character device";
    if (S_ISBLK(st.st_mode)) return "a block device";
    if (S_ISSOCK(st.st_mode)) return "a socket";
    return "a special file";
}

void require_regular_file(const std::filesystem::path& path) {
    const std::string kind = special_file_kind(path);
    if (!kind.empty()) throw Error(path.string() + ": is " + kind + ", not a regular file");
}

}  // namespace zeroclip
