// Loading libcurl on first use (see libcurl.h).
#include "hub/libcurl.h"

#include <dlfcn.h>

#include <string>

#include "zeroclip/error.h"

namespace zeroclip::hub {

namespace {

// The soname of the libcurl this program was built against (libcurl4's ABI since 2006).
constexpr const char* kSoname = "libcurl.so.4";

Libcurl load() {
    void* library = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char* why = ::dlerror();
        throw Error(std::string("cannot load ") + kSoname + " (needed to download models; install libcurl4): " +
                    (why ? why : "not found"));
    }
    const auto symbol = [library](const char* name) {
        void* address = ::dlsym(library, name);
        if (!address) throw Error(std::string(kSoname) + " has no " + name + ": too old a libcurl");
        return address;
    };
    Libcurl api{};
    api.global_init = reinterpret_cast<decltype(api.global_init)>(symbol("curl_global_init"));
    api.easy_init = reinterpret_cast<decltype(api.easy_init)>(symbol("curl_easy_init"));
    api.easy_cleanup = reinterpret_cast<decltype(api.easy_cleanup)>(symbol("curl_easy_cleanup"));
    api.easy_reset = reinterpret_cast<decltype(api.easy_reset)>(symbol("curl_easy_reset"));
    api.easy_setopt = reinterpret_cast<decltype(api.easy_setopt)>(symbol("curl_easy_setopt"));
    api.easy_getinfo = reinterpret_cast<decltype(api.easy_getinfo)>(symbol("curl_easy_getinfo"));
    api.easy_perform = reinterpret_cast<decltype(api.easy_perform)>(symbol("curl_easy_perform"));
    api.easy_strerror = reinterpret_cast<decltype(api.easy_strerror)>(symbol("curl_easy_strerror"));
    api.slist_append = reinterpret_cast<decltype(api.slist_append)>(symbol("curl_slist_append"));
    api.slist_free_all = reinterpret_cast<decltype(api.slist_free_all)>(symbol("curl_slist_free_all"));
    if (const CURLcode code = api.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK)
        throw Error(std::string("libcurl: cannot initialise: ") + api.easy_strerror(code));
    return api;  // the library stays loaded for the process's life
}

}  // namespace

const Libcurl& libcurl() {
    static const Libcurl api = load();  // a failed load throws, and the next call tries again
    return api;
}

}  // namespace zeroclip::hub
