// Models by name: the Hub client against a fake Hub on 127.0.0.1 (never the internet), and the
// cache it writes checked file by file against huggingface_hub's layout.
#include "zeroclip/hub.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

#include "hub/cache_layout.h"
#include "hub/file_download.h"
#include "hub/sha256.h"
#include "hub/git_blob_sha1.h"
#include "hub_test_server.h"
#include "test_support.h"
#include "zeroclip/error.h"

namespace fs = std::filesystem;
using zeroclip::CachedModel;
using zeroclip::HubOptions;
using zeroclip::ModelId;
using zeroclip::test::FakeHub;
using zeroclip::test::read_file;
using zeroclip::test::sha256_hex;
using zeroclip::test::write_file;

namespace {

std::string random_bytes(size_t size, unsigned seed) {
    std::mt19937 generator(seed);
    std::string bytes(size, '\0');
    for (auto& b : bytes) b = static_cast<char>(generator() & 0xff);
    return bytes;
}

std::string commit_for(const std::string& name) { return sha256_hex(name).substr(0, 40); }

// A CLIP repo as on the Hub: small JSON/text files, LFS weights. No special_tokens_map.json.
FakeHub::Repo clip_repo(const std::string& name, const std::string& model_type = "clip") {
    FakeHub::Repo repo;
    repo.commit = commit_for(name);
    repo.files["config.json"] = {R"({"model_type": ")" + model_type + R"(", "projection_dim": 512})", false};
    repo.files["vocab.json"] = {R"({"a</w>": 0})", false};
    repo.files["merges.txt"] = {"#version: 0.2\na b\n", false};
    repo.files["preprocessor_config.json"] = {R"({"crop_size": 224})", false};
    repo.files["tokenizer_config.json"] = {R"({"model_max_length": 77})", false};
    repo.files["model.safetensors"] = {random_bytes(300000, 1), true};
    return repo;
}

// A port nothing listens on.
int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const zeroclip::Error& e) {
        return e.what();
    }
    return "(no error)";
}

class HubTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/zeroclip-hub-test-XXXXXX";
        root_ = ::mkdtemp(pattern);
        options_.endpoint = hub_.endpoint();
        options_.cache_dir = root_ / "hub";
    }
    void TearDown() override { fs::remove_all(root_); }

    fs::path repo_folder(const std::string& repo) const {
        return options_.cache_dir / zeroclip::hub::repo_folder_name(repo);
    }
    fs::path download(const std::string& spec) { return zeroclip::download_model(*ModelId::parse(spec), options_); }

    FakeHub hub_;
    HubOptions options_;
    fs::path root_;
};

}  // namespace

TEST(HubSha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // One million 'a', fed in uneven pieces across block boundaries.
    zeroclip::hub::Sha256 hash;
    const std::string piece(777, 'a');
    size_t left = 1000000;
    for (; left >= piece.size(); left -= piece.size()) hash.update(piece.data(), piece.size());
    hash.update(piece.data(), left);
    EXPECT_EQ(hash.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// The ETag the Hub gives non-LFS files, against `git hash-object`.
TEST(HubGitBlobSha1, MatchesGitHashObject) {
    EXPECT_EQ(zeroclip::hub::git_blob_sha1(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    EXPECT_EQ(zeroclip::hub::git_blob_sha1("hello"), "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0");
    std::string long_text;
    for (int i = 0; i < 400; ++i) long_text += "abc";
    EXPECT_EQ(zeroclip::hub::git_blob_sha1(long_text), "7e6e9eb3caf9b257b4c7e837e1480c9bad457f89");
}

TEST(HubModelId, ParsesLikeHuggingFaceHub) {
    auto id = ModelId::parse("openai/clip-vit-base-patch32");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->repo, "openai/clip-vit-base-patch32");
    EXPECT_EQ(id->revision, "main");
    id = ModelId::parse("laion/CLIP-ViT-B-32-laion2B-s34B-b79K@refs/pr/3");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->revision, "refs/pr/3");
    EXPECT_EQ(id->to_string(), "laion/CLIP-ViT-B-32-laion2B-s34B-b79K@refs/pr/3");
    for (const char* bad : {"clip", "./models/clip", "/abs/path", "a/b/c", "org/-name", "org/na--me", "org/na..me",
                            "org/name@", "org/name@../x", "org/name@a//b", "~/models/x", "org/name.", "",
                            "org/name@a/.", "org/name@./a", "org/name@a/./b", "org/name@."})
        EXPECT_FALSE(ModelId::parse(bad)) << bad;
    EXPECT_EQ(zeroclip::hub::repo_folder_name("openai/clip-vit-base-patch32"), "models--openai--clip-vit-base-patch32");
}

TEST(HubEtag, NormalisedAsHuggingFaceHub) {
    EXPECT_EQ(zeroclip::hub::normalize_etag("\"abc\""), "abc");
    EXPECT_EQ(zeroclip::hub::normalize_etag("W/\"abc\""), "abc");
    EXPECT_EQ(zeroclip::hub::normalize_etag("abc"), "abc");
}

TEST(HubOptionsTest, ReadsTheEnvironmentLikeHuggingFaceHub) {
    const char* names[] = {"HF_ENDPOINT",
                           "HF_HOME",
                           "HF_HUB_CACHE",
                           "HUGGINGFACE_HUB_CACHE",
                           "XDG_CACHE_HOME",
                           "HF_TOKEN",
                           "HUGGING_FACE_HUB_TOKEN",
                           "HF_TOKEN_PATH",
                           "HF_HUB_OFFLINE",
                           "TRANSFORMERS_OFFLINE"};
    std::map<std::string, std::optional<std::string>> saved;
    for (const char* name : names) {
        const char* value = std::getenv(name);
        saved[name] = value ? std::optional<std::string>(value) : std::nullopt;
        ::unsetenv(name);
    }
    char pattern[] = "/tmp/zeroclip-hub-env-XXXXXX";
    const fs::path home = ::mkdtemp(pattern);
    write_file(home / "token", "  hf_filetoken\n");

    ::setenv("HF_HOME", home.c_str(), 1);
    ::setenv("HF_ENDPOINT", "http://mirror.example/", 1);
    auto options = HubOptions::from_environment();
    EXPECT_EQ(options.endpoint, "http://mirror.example");
    EXPECT_EQ(options.cache_dir, home / "hub");
    EXPECT_EQ(options.token, "hf_filetoken");
    EXPECT_FALSE(options.offline);

    ::setenv("HF_HUB_CACHE", "/tmp/elsewhere", 1);
    ::setenv("HF_TOKEN", "hf_envtoken\r\n", 1);
    ::setenv("HF_HUB_OFFLINE", "yes", 1);
    options = HubOptions::from_environment();
    EXPECT_EQ(options.cache_dir, "/tmp/elsewhere");
    EXPECT_EQ(options.token, "hf_envtoken");
    EXPECT_TRUE(options.offline);

    for (const auto& [name, value] : saved)
        value ? (void)::setenv(name.c_str(), value->c_str(), 1) : (void)::unsetenv(name.c_str());
    fs::remove_all(home);
}

TEST_F(HubTest, WritesHuggingFaceHubCacheLayout) {
    const auto repo = clip_repo("tiny");
    hub_.add_repo("test-org/clip-tiny", repo);
    const fs::path dir = download("test-org/clip-tiny");

    const fs::path folder = repo_folder("test-org/clip-tiny");
    EXPECT_EQ(dir, folder / "snapshots" / repo.commit);
    EXPECT_EQ(read_file(folder / "refs" / "main"), repo.commit);  // bare commit, no newline

    const std::string weights_sha = sha256_hex(repo.files.at("model.safetensors").content);
    EXPECT_EQ(fs::read_symlink(dir / "model.safetensors"), fs::path("../../blobs") / weights_sha);
    EXPECT_EQ(read_file(folder / "blobs" / weights_sha), repo.files.at("model.safetensors").content);
    for (const char* file :
         {"config.json", "vocab.json", "merges.txt", "preprocessor_config.json", "tokenizer_config.json"}) {
        const std::string etag = zeroclip::hub::git_blob_sha1(repo.files.at(file).content);  // W/"..." stripped
        EXPECT_EQ(fs::read_symlink(dir / file), fs::path("../../blobs") / etag) << file;
        EXPECT_EQ(read_file(dir / file), repo.files.at(file).content) << file;
    }
    // An optional file the repo lacks: skipped, and its absence cached like huggingface_hub does.
    EXPECT_FALSE(fs::exists(dir / "special_tokens_map.json"));
    EXPECT_TRUE(fs::exists(folder / ".no_exist" / repo.commit / "special_tokens_map.json"));
    EXPECT_TRUE(fs::exists(options_.cache_dir / ".locks" / folder.filename() / (weights_sha + ".lock")));
    for (const auto& blob : fs::directory_iterator(folder / "blobs"))
        EXPECT_EQ(blob.path().extension(), "") << blob.path();  // no .incomplete left behind

    // The weights went through the 302 to the CDN, the others straight from the resolve URL.
    EXPECT_EQ(hub_.requests_to("/cdn/" + weights_sha, "GET").size(), 1u);
    EXPECT_EQ(zeroclip::find_cached_model(*ModelId::parse("test-org/clip-tiny"), options_), dir);
}

// The family's files: a SigLIP repo has spiece.model and no BPE files.
TEST_F(HubTest, DownloadsTheFilesOfTheModelsFamily) {
    FakeHub::Repo repo;
    repo.commit = commit_for("siglip");
    repo.files["config.json"] = {R"({"model_type": "siglip", "architectures": ["SiglipModel"]})", false};
    repo.files["spiece.model"] = {random_bytes(5000, 3), true};
    repo.files["preprocessor_config.json"] = {R"({"size": {"height": 224, "width": 224}})", false};
    repo.files["model.safetensors"] = {random_bytes(3000, 4), true};
    hub_.add_repo("test-org/siglip", repo);
    const fs::path dir = download("test-org/siglip");
    for (const char* file : {"config.json", "spiece.model", "preprocessor_config.json", "model.safetensors"})
        EXPECT_EQ(read_file(dir / file), repo.files.at(file).content) << file;
    EXPECT_FALSE(fs::exists(dir / "vocab.json"));
    EXPECT_EQ(zeroclip::find_cached_model(*ModelId::parse("test-org/siglip"), options_), dir);
    const auto models = zeroclip::list_cached_models(options_);
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].repo, "test-org/siglip");
}

TEST_F(HubTest, SecondResolutionDownloadsNothing) {
    const auto repo = clip_repo("again");
    hub_.add_repo("test-org/clip", repo);
    const fs::path first = download("test-org/clip");
    hub_.clear_requests();
    EXPECT_EQ(download("test-org/clip"), first);
    for (const auto& request : hub_.requests()) EXPECT_EQ(request.method, "HEAD") << request.target;

    // A commit names immutable content: a complete snapshot needs no request at all.
    hub_.clear_requests();
    EXPECT_EQ(download("test-org/clip@" + repo.commit), first);
    EXPECT_TRUE(hub_.requests().empty());
}

TEST_F(HubTest, TagRevisionWritesItsRef) {
    auto repo = clip_repo("tagged");
    repo.tags = {"v1.0"};
    hub_.add_repo("test-org/clip", repo);
    const fs::path dir = download("test-org/clip@v1.0");
    EXPECT_EQ(read_file(repo_folder("test-org/clip") / "refs" / "v1.0"), repo.commit);
    EXPECT_EQ(dir.filename(), repo.commit);
    EXPECT_NE(error_of([&] { download("test-org/clip@v2.0"); }).find("no revision 'v2.0'"), std::string::npos);
}

TEST_F(HubTest, TokenSentAsBearerToTheHubOnly) {
    auto repo = clip_repo("gated");
    repo.token = "hf_secret";
    hub_.add_repo("test-org/gated", repo);

    const std::string denied = error_of([&] { download("test-org/gated"); });
    EXPECT_NE(denied.find("test-org/gated"), std::string::npos) << denied;
    EXPECT_NE(denied.find("HTTP 401"), std::string::npos) << denied;
    EXPECT_NE(denied.find("gated or private"), std::string::npos) << denied;
    EXPECT_NE(denied.find("HF_TOKEN"), std::string::npos) << denied;

    options_.token = "hf_wrong";
    EXPECT_NE(error_of([&] { download("test-org/gated"); }).find("not allowed"), std::string::npos);

    options_.token = "hf_secret";
    hub_.clear_requests();
    const fs::path dir = download("test-org/gated");
    EXPECT_TRUE(fs::exists(dir / "model.safetensors"));
    for (const auto& request : hub_.requests_to("/test-org/gated/"))
        EXPECT_EQ(request.headers.at("authorization"), "Bearer hf_secret") << request.target;
    const auto cdn = hub_.requests_to("/cdn/");
    ASSERT_EQ(cdn.size(), 1u);
    EXPECT_EQ(cdn[0].headers.count("authorization"), 0u);  // signed CDN URL: no token
}

TEST_F(HubTest, NotFoundErrorsNameTheRepoOrFile) {
    const std::string repo_error = error_of([&] { download("test-org/missing"); });
    EXPECT_NE(repo_error.find("test-org/missing: no such repository on " + hub_.endpoint()), std::string::npos)
        << repo_error;
    // A MODEL that is neither a directory nor a repo: both possibilities are ruled out.
    const std::string resolve_error = error_of([&] { zeroclip::resolve_model("test-org/missing", options_); });
    EXPECT_NE(resolve_error.find("test-org/missing: model directory not found, and no such repository"),
              std::string::npos)
        << resolve_error;

    auto repo = clip_repo("novocab");
    repo.files.erase("vocab.json");
    hub_.add_repo("test-org/novocab", repo);
    const std::string file_error = error_of([&] { download("test-org/novocab"); });
    EXPECT_NE(file_error.find("test-org/novocab: no vocab.json"), std::string::npos) << file_error;
}

TEST_F(HubTest, CorruptedLfsBodyLeavesNothingBehind) {
    const auto repo = clip_repo("corrupt");
    hub_.add_repo("test-org/corrupt", repo);
    hub_.corrupt_cdn_bodies(true);
    const std::string error = error_of([&] { download("test-org/corrupt"); });
    EXPECT_NE(error.find("model.safetensors: corrupted download: sha256"), std::string::npos) << error;
    const fs::path folder = repo_folder("test-org/corrupt");
    const std::string weights_sha = sha256_hex(repo.files.at("model.safetensors").content);
    EXPECT_FALSE(fs::exists(folder / "blobs" / weights_sha));
    EXPECT_FALSE(fs::exists(folder / "blobs" / (weights_sha + ".incomplete")));
    EXPECT_FALSE(fs::is_symlink(folder / "snapshots" / repo.commit / "model.safetensors"));

    hub_.corrupt_cdn_bodies(false);  // and a retry then succeeds
    EXPECT_EQ(read_file(download("test-org/corrupt") / "model.safetensors"),
              repo.files.at("model.safetensors").content);
}

TEST_F(HubTest, DroppedConnectionResumesWithRange) {
    const auto repo = clip_repo("flaky");
    hub_.add_repo("test-org/flaky", repo);
    hub_.drop_cdn_bodies_after(100000, 1);
    const fs::path dir = download("test-org/flaky");
    EXPECT_EQ(read_file(dir / "model.safetensors"), repo.files.at("model.safetensors").content);
    const auto gets = hub_.requests_to("/cdn/", "GET");
    ASSERT_EQ(gets.size(), 2u);
    EXPECT_EQ(gets[0].headers.count("range"), 0u);
    EXPECT_EQ(gets[1].headers.at("range"), "bytes=100000-");
}

TEST_F(HubTest, ResumesWhatAnInterruptedRunLeft) {
    const auto repo = clip_repo("interrupted");
    hub_.add_repo("test-org/interrupted", repo);
    const std::string& weights = repo.files.at("model.safetensors").content;
    const fs::path incomplete = repo_folder("test-org/interrupted") / "blobs" / (sha256_hex(weights) + ".incomplete");
    write_file(incomplete, weights.substr(0, 123456));
    const fs::path dir = download("test-org/interrupted");
    EXPECT_EQ(read_file(dir / "model.safetensors"), weights);
    const auto gets = hub_.requests_to("/cdn/", "GET");
    ASSERT_EQ(gets.size(), 1u);
    EXPECT_EQ(gets[0].headers.at("range"), "bytes=123456-");
    EXPECT_FALSE(fs::exists(incomplete));
}

TEST_F(HubTest, OfflineResolvesFromRefsAndSnapshots) {
    const auto repo = clip_repo("offline");
    hub_.add_repo("test-org/offline", repo);
    const fs::path online = download("test-org/offline");

    hub_.clear_requests();
    options_.offline = true;
    EXPECT_EQ(download("test-org/offline"), online);
    EXPECT_EQ(zeroclip::resolve_model("test-org/offline", options_), online);
    EXPECT_TRUE(hub_.requests().empty());

    const std::string error = error_of([&] { download("test-org/other"); });
    EXPECT_NE(error.find("test-org/other: not in the Hugging Face cache"), std::string::npos) << error;
    EXPECT_NE(error.find("HF_HUB_OFFLINE=1"), std::string::npos) << error;
    EXPECT_TRUE(hub_.requests().empty());

    // A snapshot missing its weights is not a model.
    fs::remove(online / "model.safetensors");
    EXPECT_NE(error_of([&] { download("test-org/offline"); }).find("not in the Hugging Face cache"), std::string::npos);
}

TEST_F(HubTest, NetworkFailureNamesHostAndSuggestsOffline) {
    options_.endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
    const std::string host = options_.endpoint.substr(7);
    std::string error = error_of([&] { download("test-org/unreachable"); });
    EXPECT_NE(error.find("cannot reach " + host), std::string::npos) << error;
    EXPECT_EQ(error.find("HF_HUB_OFFLINE"), std::string::npos) << error;

    // With the model cached, the error says how to use it.
    hub_.add_repo("test-org/unreachable", clip_repo("unreachable"));
    options_.endpoint = hub_.endpoint();
    download("test-org/unreachable");
    options_.endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
    error = error_of([&] { download("test-org/unreachable"); });
    EXPECT_NE(error.find("cannot reach 127.0.0.1"), std::string::npos) << error;
    EXPECT_NE(error.find("set HF_HUB_OFFLINE=1"), std::string::npos) << error;
}

TEST_F(HubTest, ConcurrentDownloadsShareOneTransfer) {
    auto repo = clip_repo("concurrent");
    repo.files["model.safetensors"].content = random_bytes(1 << 20, 7);
    hub_.add_repo("test-org/concurrent", repo);
    hub_.slow_cdn_bodies(std::chrono::milliseconds(5));  // 64 chunks: ~0.3 s, so the two overlap

    fs::path dirs[2];
    std::string errors[2];
    std::thread threads[2];
    for (int i = 0; i < 2; ++i)
        threads[i] = std::thread([&, i] { errors[i] = error_of([&] { dirs[i] = download("test-org/concurrent"); }); });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(errors[0], "(no error)");
    EXPECT_EQ(errors[1], "(no error)");
    EXPECT_EQ(dirs[0], dirs[1]);
    EXPECT_EQ(read_file(dirs[0] / "model.safetensors"), repo.files.at("model.safetensors").content);
    // The lock made the second wait and then find the blob: the bytes crossed the wire once.
    EXPECT_EQ(hub_.requests_to("/cdn/", "GET").size(), 1u);
}

TEST_F(HubTest, ShardedWeightsFollowTheIndex) {
    auto repo = clip_repo("sharded");
    repo.files.erase("model.safetensors");
    repo.files["model.safetensors.index.json"] = {
        R"({"metadata": {"total_size": 2}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
            "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00001-of-00002.safetensors"}})",
        false};
    repo.files["model-00001-of-00002.safetensors"] = {random_bytes(50000, 2), true};
    repo.files["model-00002-of-00002.safetensors"] = {random_bytes(40000, 3), true};
    hub_.add_repo("test-org/sharded", repo);
    const fs::path dir = download("test-org/sharded");
    for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
        EXPECT_EQ(read_file(dir / shard), repo.files.at(shard).content) << shard;
    EXPECT_EQ(hub_.requests_to("/cdn/", "GET").size(), 2u);
    options_.offline = true;
    EXPECT_EQ(download("test-org/sharded"), dir);
}

TEST_F(HubTest, UnsafeShardNameIsRefused) {
    auto repo = clip_repo("evil");
    repo.files.erase("model.safetensors");
    repo.files["model.safetensors.index.json"] = {R"({"weight_map": {"a": "../../../../etc/passwd"}})", false};
    hub_.add_repo("test-org/evil", repo);
    const std::string error = error_of([&] { download("test-org/evil"); });
    EXPECT_NE(error.find("weight_map[a]: not a file name beside the index"), std::string::npos) << error;
}

// Issue 14.11: a shard in a subfolder was downloaded, then refused by the loader.
TEST_F(HubTest, ShardInSubfolderIsRefusedBeforeDownloading) {
    auto repo = clip_repo("subfolder");
    repo.files["model.safetensors.index.json"] = {R"({"weight_map": {"a": "sub/model.safetensors"}})", false};
    repo.files["sub/model.safetensors"] = {random_bytes(1000, 2), true};
    repo.files.erase("model.safetensors");
    hub_.add_repo("test-org/subfolder", repo);
    const std::string error = error_of([&] { download("test-org/subfolder"); });
    EXPECT_NE(error.find("weight_map[a]: not a file name beside the index"), std::string::npos) << error;
    EXPECT_TRUE(hub_.requests_to("/test-org/subfolder/resolve/main/sub").empty());
}

TEST_F(HubTest, PytorchOnlyRepoSaysToConvert) {
    auto repo = clip_repo("pytorch");
    repo.files.erase("model.safetensors");
    repo.files["pytorch_model.bin"] = {random_bytes(1000, 4), true};
    hub_.add_repo("test-org/pytorch", repo);
    const std::string error = error_of([&] { download("test-org/pytorch"); });
    EXPECT_NE(error.find("test-org/pytorch: only pytorch_model.bin"), std::string::npos) << error;
    EXPECT_NE(error.find("save_pretrained"), std::string::npos) << error;
    EXPECT_TRUE(hub_.requests_to("/cdn/", "GET").empty());  // nothing downloaded for it

    repo.files.erase("pytorch_model.bin");
    hub_.add_repo("test-org/pytorch", repo);
    EXPECT_NE(error_of([&] { download("test-org/pytorch"); }).find("no model.safetensors"), std::string::npos);
}

TEST_F(HubTest, RenamedRepoFollowsRelativeRedirect) {
    hub_.add_repo("test-org/new-name", clip_repo("renamed"));
    hub_.add_rename("test-org/old-name", "test-org/new-name");
    const fs::path dir = download("test-org/old-name");
    EXPECT_EQ(dir.parent_path().parent_path(), repo_folder("test-org/old-name"));  // cached under the asked name
    EXPECT_TRUE(fs::exists(dir / "model.safetensors"));
}

TEST_F(HubTest, ExistingDirectoryIsReturnedWithoutNetwork) {
    options_.endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
    const fs::path local = root_ / "my-models" / "clip";
    fs::create_directories(local);
    EXPECT_EQ(zeroclip::resolve_model(local.string(), options_), local);
    // Relative "org/name"-looking paths that exist are directories first.
    const fs::path cwd = fs::current_path();
    fs::current_path(root_);
    EXPECT_EQ(zeroclip::resolve_model("my-models/clip", options_), fs::path("my-models/clip"));
    fs::current_path(cwd);

    write_file(root_ / "file.txt", "x");
    EXPECT_EQ(error_of([&] { zeroclip::resolve_model((root_ / "file.txt").string(), options_); }),
              (root_ / "file.txt").string() + ": not a model directory");
    EXPECT_EQ(error_of([&] { zeroclip::resolve_model("no-such-dir", options_); }),
              "no-such-dir: model directory not found");
}

TEST_F(HubTest, ListsCachedClipModels) {
    hub_.add_repo("test-org/clip-b", clip_repo("b"));
    hub_.add_repo("test-org/clip-a", clip_repo("a"));
    hub_.add_repo("test-org/bert", clip_repo("bert", "bert"));
    download("test-org/clip-b");
    download("test-org/clip-a");
    download("test-org/bert");
    const auto models = zeroclip::list_cached_models(options_);
    ASSERT_EQ(models.size(), 2u);
    EXPECT_EQ(models[0].repo, "test-org/clip-a");
    EXPECT_EQ(models[1].repo, "test-org/clip-b");
    const auto repo = clip_repo("a");
    EXPECT_EQ(models[0].revision, "main");
    EXPECT_EQ(models[0].commit, repo.commit);
    EXPECT_EQ(models[0].path, repo_folder("test-org/clip-a") / "snapshots" / repo.commit);
    std::uintmax_t size = 0;
    for (const auto& [name, file] : repo.files) size += file.content.size();
    EXPECT_EQ(models[0].size_bytes, size);
}

namespace {

// The zeroclip program with the Hub variables set to the test's (and no token from the user).
zeroclip::test::CliResult run_cli(const fs::path& root, const std::string& endpoint,
                                  const std::vector<std::string>& args, bool offline = false) {
    using zeroclip::test::shell_quote;
    std::string env = "env -u HF_TOKEN -u HUGGING_FACE_HUB_TOKEN -u HF_TOKEN_PATH -u HF_HUB_CACHE";
    env += " -u HUGGINGFACE_HUB_CACHE -u TRANSFORMERS_OFFLINE HF_HOME=" + shell_quote(root.string());
    env += " HF_ENDPOINT=" + shell_quote(endpoint);
    env += offline ? " HF_HUB_OFFLINE=1" : " HF_HUB_OFFLINE=0";
    return zeroclip::test::run_cli(args, root / "stderr.txt", env);
}

// The committed sharded fixture model, served as a Hub repo (weights through LFS).
FakeHub::Repo fixture_repo() {
    FakeHub::Repo repo;
    repo.commit = commit_for("fixture");
    for (const auto& entry :
         fs::directory_iterator(zeroclip::test::fixtures_dir() / "models" / "clip-f16-gelu-sharded")) {
        const std::string name = entry.path().filename().string();
        repo.files[name] = {read_file(entry.path()), entry.path().extension() == ".safetensors"};
    }
    return repo;
}

}  // namespace

TEST_F(HubTest, CliDownloadsListsAndRunsModelsByName) {
    if (!fs::exists(zeroclip::test::cli_path())) GTEST_SKIP() << "zeroclip program not built";
    hub_.add_repo("test-org/tiny-clip", fixture_repo());
    auto gated = fixture_repo();
    gated.token = "hf_secret";
    hub_.add_repo("test-org/gated", gated);

    const auto download = run_cli(root_, hub_.endpoint(), {"download", "test-org/tiny-clip"});
    ASSERT_EQ(download.status, 0) << download.err;
    const fs::path snapshot = root_ / "hub" / "models--test-org--tiny-clip" / "snapshots" / commit_for("fixture");
    EXPECT_EQ(download.out, snapshot.string() + "\n");

    const auto models = run_cli(root_, hub_.endpoint(), {"models"});
    ASSERT_EQ(models.status, 0) << models.err;
    EXPECT_NE(models.out.find("test-org/tiny-clip  main"), std::string::npos) << models.out;
    EXPECT_NE(models.out.find(snapshot.string()), std::string::npos) << models.out;

    // By name, offline, from the cache: the same embeddings as from the fixture directory.
    const fs::path fixture = zeroclip::test::fixtures_dir() / "models" / "clip-f16-gelu-sharded";
    const auto by_dir =
        run_cli(root_, "http://127.0.0.1:1",
                {"embed", "-m", fixture.string(), "--text", "a cat", "-o", (root_ / "dir.npy").string()});
    ASSERT_EQ(by_dir.status, 0) << by_dir.err;
    const auto by_name =
        run_cli(root_, "http://127.0.0.1:1",
                {"embed", "-m", "test-org/tiny-clip", "--text", "a cat", "-o", (root_ / "hub.npy").string()},
                /*offline=*/true);
    ASSERT_EQ(by_name.status, 0) << by_name.err;
    EXPECT_EQ(read_file(root_ / "hub.npy"), read_file(root_ / "dir.npy"));

    const auto denied = run_cli(root_, hub_.endpoint(), {"download", "test-org/gated"});
    EXPECT_EQ(denied.status, 1);
    EXPECT_EQ(std::count(denied.err.begin(), denied.err.end(), '\n'), 1) << denied.err;
    EXPECT_NE(denied.err.find("HF_TOKEN"), std::string::npos) << denied.err;

    const auto typo =
        run_cli(root_, "http://127.0.0.1:1", {"embed", "-m", "no/such-model", "--text", "x", "-o", "x.npy"});
    EXPECT_EQ(typo.status, 1);
    EXPECT_NE(typo.err.find("no/such-model: model directory not found, and cannot reach 127.0.0.1:1"),
              std::string::npos)
        << typo.err;
}

// ---------------------------------------------------------------- faults (issue 14.2, 14.11)
// For each: nothing wrong is cached, the error names the cause, a rerun succeeds once the
// server behaves.

namespace {

// No blob of `repo` holds anything but the verified content of one of its files.
void expect_only_verified_blobs(const fs::path& folder, const FakeHub::Repo& repo) {
    std::set<std::string> good;
    for (const auto& [name, file] : repo.files)
        good.insert(file.lfs ? sha256_hex(file.content) : zeroclip::hub::git_blob_sha1(file.content));
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder / "blobs", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".incomplete")) continue;  // kept for resuming, never used as a file
        EXPECT_TRUE(good.count(name)) << "unverified blob " << name;
    }
}

}  // namespace

TEST_F(HubTest, WrongContentLengthIsNeverCached) {
    const auto repo = clip_repo("short");
    hub_.add_repo("test-org/short", repo);
    // Announced shorter than the file: the download stops early and the git blob id does not match.
    hub_.lie_about_git_file_length(-5);
    std::string error = error_of([&] { download("test-org/short"); });
    EXPECT_NE(error.find("config.json: corrupted download: git blob sha1"), std::string::npos) << error;
    EXPECT_EQ(error.find("check the network"), std::string::npos) << error;
    expect_only_verified_blobs(repo_folder("test-org/short"), repo);
    // Announced longer: the server never delivers what it announced.
    hub_.lie_about_git_file_length(50);
    error = error_of([&] { download("test-org/short"); });
    EXPECT_NE(error.find("config.json: 127.0.0.1"), std::string::npos) << error;
    EXPECT_NE(error.find("stopped sending at"), std::string::npos) << error;
    EXPECT_EQ(error.find("check the network"), std::string::npos) << error;
    expect_only_verified_blobs(repo_folder("test-org/short"), repo);

    hub_.lie_about_git_file_length(0);
    const fs::path dir = download("test-org/short");
    for (const auto& [name, file] : repo.files) EXPECT_EQ(read_file(dir / name), file.content) << name;
}

TEST_F(HubTest, ServerErrorThenSuccessIsRetried) {
    const auto repo = clip_repo("flaky500");
    hub_.add_repo("test-org/flaky500", repo);
    hub_.fail_cdn_requests(500, 1);
    const fs::path dir = download("test-org/flaky500");
    EXPECT_EQ(read_file(dir / "model.safetensors"), repo.files.at("model.safetensors").content);
    EXPECT_EQ(hub_.requests_to("/cdn/", "GET").size(), 2u);
}

TEST_F(HubTest, PersistentServerErrorNamesTheStatusAndCachesNothing) {
    const auto repo = clip_repo("down");
    hub_.add_repo("test-org/down", repo);
    hub_.fail_cdn_requests(503, 100);
    const std::string error = error_of([&] { download("test-org/down"); });
    EXPECT_NE(error.find("model.safetensors"), std::string::npos) << error;
    EXPECT_NE(error.find("HTTP 503"), std::string::npos) << error;
    expect_only_verified_blobs(repo_folder("test-org/down"), repo);
    hub_.fail_cdn_requests(503, 0);
    EXPECT_EQ(read_file(download("test-org/down") / "model.safetensors"), repo.files.at("model.safetensors").content);
}

TEST_F(HubTest, RedirectToFileUrlIsRefused) {
    const auto repo = clip_repo("fileurl");
    hub_.add_repo("test-org/fileurl", repo);
    hub_.redirect_lfs_to("file://");
    const std::string error = error_of([&] { download("test-org/fileurl"); });
    EXPECT_NE(error.find("model.safetensors: 127.0.0.1"), std::string::npos) << error;
    EXPECT_NE(error.find("redirected to 'file:///cdn/"), std::string::npos) << error;
    EXPECT_NE(error.find("not an http(s) URL"), std::string::npos) << error;
    EXPECT_EQ(error.find("cannot reach"), std::string::npos) << error;
    expect_only_verified_blobs(repo_folder("test-org/fileurl"), repo);
    hub_.redirect_lfs_to("");
    EXPECT_EQ(read_file(download("test-org/fileurl") / "model.safetensors"),
              repo.files.at("model.safetensors").content);
}

TEST_F(HubTest, RedirectToAnotherHost) {
    auto repo = clip_repo("elsewhere");
    repo.token = "hf_secret";
    hub_.add_repo("test-org/elsewhere", repo);
    options_.token = "hf_secret";
    // A host that does not answer: the error names it, nothing is cached.
    const std::string dead = "http://127.0.0.1:" + std::to_string(closed_port());
    hub_.redirect_lfs_to(dead);
    const std::string error = error_of([&] { download("test-org/elsewhere"); });
    EXPECT_NE(error.find("cannot reach " + dead.substr(7)), std::string::npos) << error;
    expect_only_verified_blobs(repo_folder("test-org/elsewhere"), repo);
    // Another host that serves the file: downloaded from there, without the token.
    FakeHub other;
    other.add_repo("test-org/elsewhere", repo);
    hub_.redirect_lfs_to(other.endpoint());
    EXPECT_EQ(read_file(download("test-org/elsewhere") / "model.safetensors"),
              repo.files.at("model.safetensors").content);
    const auto gets = other.requests_to("/cdn/", "GET");
    ASSERT_FALSE(gets.empty());
    for (const auto& get : gets) EXPECT_EQ(get.headers.count("authorization"), 0u);
}
