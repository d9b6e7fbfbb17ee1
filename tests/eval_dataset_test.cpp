// Dataset readers (imagefolder, CIFAR-10/100 binary, CSV), class names and --limit, on small
// files written by the tests, and on ../shared's datasets when present.
#include <gtest/gtest.h>

#include <map>

#include "eval_test_support.h"
#include "test_support.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"

namespace fs = std::filesystem;
using namespace zeroclip;
using test::write_file;

namespace {

class EvalDataset : public test::TempDirTest {};

std::vector<std::string> ids(const Dataset& d) {
    std::vector<std::string> out;
    for (const auto& s : d.samples) out.push_back(s.id);
    return out;
}

}  // namespace

TEST_F(EvalDataset, ImageFolderSortsClassesAndFindsImagesRecursively) {
    test::write_bmp(dir_ / "b_class" / "2.bmp", 4, 4, 10, 20, 30);
    test::write_bmp(dir_ / "b_class" / "1.BMP", 4, 4, 10, 20, 30);
    test::write_bmp(dir_ / "a_class" / "sub" / "x.bmp", 4, 4, 1, 2, 3);
    write_file(dir_ / "a_class" / "notes.txt", "not an image");
    test::write_bmp(dir_ / ".hidden" / "y.bmp", 4, 4, 1, 2, 3);
    write_file(dir_ / "README", "a file beside the class folders");
    fs::create_directories(dir_ / "c_empty");

    const Dataset d = read_dataset("imagefolder:" + dir_.string());
    EXPECT_EQ(d.spec, "imagefolder:" + dir_.string());
    EXPECT_EQ(d.class_keys, (std::vector<std::string>{"a_class", "b_class", "c_empty"}));
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"a class", "b class", "c empty"}));
    ASSERT_EQ(d.samples.size(), 3u);
    EXPECT_EQ(ids(d), (std::vector<std::string>{(dir_ / "a_class" / "sub" / "x.bmp").string(),
                                                (dir_ / "b_class" / "1.BMP").string(),
                                                (dir_ / "b_class" / "2.bmp").string()}));
    EXPECT_EQ(d.samples[0].label, 0);
    EXPECT_EQ(d.samples[2].label, 1);
    EXPECT_EQ(d.samples[1].path, dir_ / "b_class" / "1.BMP");
    EXPECT_TRUE(d.images.empty());
}

TEST_F(EvalDataset, ImageFolderErrorsNameTheFolder) {
    EXPECT_THROW(read_imagefolder(dir_ / "missing"), Error);
    try {
        read_imagefolder(dir_);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(dir_.string()), std::string::npos) << e.what();
    }
    fs::create_directories(dir_ / "only_empty");
    EXPECT_THROW(read_imagefolder(dir_), Error);  // classes but no images
}

TEST_F(EvalDataset, Cifar10RecordsBecomeInMemoryImages) {
    write_file(dir_ / "batches.meta.txt", "airplane\nautomobile\nbird\n\n");
    write_file(dir_ / "test_batch.bin", test::cifar_records({{2}, {0}, {1}}));
    const Dataset d = read_dataset("cifar10:" + dir_.string());
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"airplane", "automobile", "bird"}));
    ASSERT_EQ(d.samples.size(), 3u);
    ASSERT_EQ(d.images.size(), 3u);
    EXPECT_EQ(d.samples[0].label, 2);
    EXPECT_EQ(d.samples[1].label, 0);
    EXPECT_EQ(d.samples[2].label, 1);
    EXPECT_EQ(d.samples[1].id, (dir_ / "test_batch.bin").string() + "#1");
    EXPECT_TRUE(d.samples[1].path.empty());
    const RgbImage& im = d.images[d.samples[1].image];
    ASSERT_EQ(im.width, 32);
    ASSERT_EQ(im.height, 32);
    // Planar R, G, B records interleaved to RGB: pixel (p, c) = p + 7c + record (mod 256).
    for (int p : {0, 1, 33, 1023})
        for (int c = 0; c < 3; ++c) EXPECT_EQ(im.pixels[3 * p + c], (p + 7 * c + 1) & 255) << p << " " << c;
}

TEST_F(EvalDataset, Cifar100UsesFineLabels) {
    std::string names;
    for (int i = 0; i < 100; ++i) names += "class_" + std::to_string(i) + "\n";
    write_file(dir_ / "fine_label_names.txt", names);
    write_file(dir_ / "test.bin", test::cifar_records({{3, 42}, {19, 7}}));
    const Dataset d = read_dataset("cifar100:" + dir_.string());
    ASSERT_EQ(d.class_names.size(), 100u);
    EXPECT_EQ(d.class_names[42], "class 42");
    ASSERT_EQ(d.samples.size(), 2u);
    EXPECT_EQ(d.samples[0].label, 42);
    EXPECT_EQ(d.samples[1].label, 7);
    EXPECT_EQ(d.images[1].pixels[0], 1);
}

TEST_F(EvalDataset, CifarRejectsBadFiles) {
    write_file(dir_ / "batches.meta.txt", "a\nb\n");
    write_file(dir_ / "test_batch.bin", test::cifar_records({{1}}) + "x");
    EXPECT_THROW(read_cifar(dir_, false), Error);  // not a whole number of records
    write_file(dir_ / "test_batch.bin", test::cifar_records({{2}}));
    EXPECT_THROW(read_cifar(dir_, false), Error);  // label 2 but only 2 names
    write_file(dir_ / "test_batch.bin", "");
    EXPECT_THROW(read_cifar(dir_, false), Error);
    EXPECT_THROW(read_cifar(dir_, true), Error);   // no test.bin / fine_label_names.txt
}

TEST_F(EvalDataset, CsvResolvesPathsAndSortsLabels) {
    write_file(dir_ / "sub" / "list.csv",
               "path,label\n"
               "a.jpg,10\n"
               "\"with, comma.jpg\",2\n"
               "\r\n" +
                   (dir_ / "abs.png").string() + ", 2 \r\n");
    const Dataset d = read_dataset("csv:" + (dir_ / "sub" / "list.csv").string());
    EXPECT_EQ(d.class_keys, (std::vector<std::string>{"2", "10"}));  // numeric order
    ASSERT_EQ(d.samples.size(), 3u);
    EXPECT_EQ(d.samples[0].path, dir_ / "sub" / "a.jpg");
    EXPECT_EQ(d.samples[0].label, 1);
    EXPECT_EQ(d.samples[1].path, dir_ / "sub" / "with, comma.jpg");
    EXPECT_EQ(d.samples[1].label, 0);
    EXPECT_EQ(d.samples[2].path, dir_ / "abs.png");

    write_file(dir_ / "names.csv", "x.png,zebra\ny.png,ant\nz.png,cat_dog\n");
    const Dataset n = read_csv_dataset(dir_ / "names.csv");
    EXPECT_EQ(n.class_names, (std::vector<std::string>{"ant", "cat dog", "zebra"}));
    EXPECT_EQ(n.samples[0].label, 2);
}

TEST_F(EvalDataset, CsvErrorsNameTheLine) {
    write_file(dir_ / "bad.csv", "a.png,cat\nb.png,cat,extra\n");
    try {
        read_csv_dataset(dir_ / "bad.csv");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.csv:2"), std::string::npos) << e.what();
    }
    write_file(dir_ / "quote.csv", "\"a.png,cat\n");
    EXPECT_THROW(read_csv_dataset(dir_ / "quote.csv"), Error);
    write_file(dir_ / "empty.csv", "path,label\n");
    EXPECT_THROW(read_csv_dataset(dir_ / "empty.csv"), Error);
    EXPECT_THROW(read_dataset("csv:" + (dir_ / "missing.csv").string()), Error);
}

TEST_F(EvalDataset, ClassnamesFromTsvOrList) {
    write_file(dir_ / "list.csv", "1.png,n02\n2.png,n01\n");
    Dataset d = read_csv_dataset(dir_ / "list.csv");
    write_file(dir_ / "map.tsv", "n01\ttench\nn02\tEnglish springer\nn99\tunused\n");
    apply_classnames(d, dir_ / "map.tsv");
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"tench", "English springer"}));

    write_file(dir_ / "names.txt", "fish\r\n\r\ndog\r\n");
    apply_classnames(d, dir_ / "names.txt");
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"fish", "dog"}));

    write_file(dir_ / "short.tsv", "n01\ttench\n");
    EXPECT_THROW(apply_classnames(d, dir_ / "short.tsv"), Error);  // no name for n02
    write_file(dir_ / "three.txt", "a\nb\nc\n");
    EXPECT_THROW(apply_classnames(d, dir_ / "three.txt"), Error);  // 3 names for 2 classes
    write_file(dir_ / "dup.txt", "a\na\n");
    EXPECT_THROW(apply_classnames(d, dir_ / "dup.txt"), Error);    // names must be unique
}

TEST_F(EvalDataset, DuplicateDefaultNamesAreRejected) {
    write_file(dir_ / "list.csv", "1.png,a_b\n2.png,a b\n");
    EXPECT_THROW(read_csv_dataset(dir_ / "list.csv"), Error);
}

TEST(EvalDatasetLimit, SpreadsEvenly) {
    Dataset d;
    for (int i = 0; i < 10; ++i) d.samples.push_back({std::to_string(i), {}, -1, i / 5});
    Dataset all = d;
    limit_samples(all, 0);
    EXPECT_EQ(all.samples.size(), 10u);
    limit_samples(all, 10);
    EXPECT_EQ(all.samples.size(), 10u);
    limit_samples(d, 3);
    ASSERT_EQ(d.samples.size(), 3u);
    EXPECT_EQ(d.samples[0].id, "0");
    EXPECT_EQ(d.samples[1].id, "3");
    EXPECT_EQ(d.samples[2].id, "6");
}

TEST(EvalDatasetSpec, UnknownKindsAreErrors) {
    EXPECT_THROW(read_dataset("folder:/tmp"), Error);
    EXPECT_THROW(read_dataset("/tmp"), Error);
    EXPECT_THROW(read_dataset("imagefolder:"), Error);
}

TEST(EvalDatasetShared, Imagenette) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    Dataset d = read_dataset("imagefolder:" + (shared / "data" / "imagenette-val").string());
    apply_classnames(d, shared / "data" / "imagenette-classes.tsv");
    EXPECT_EQ(d.samples.size(), 3925u);
    ASSERT_EQ(d.class_names.size(), 10u);
    EXPECT_EQ(d.class_keys[0], "n01440764");
    EXPECT_EQ(d.class_names[0], "tench");
    EXPECT_EQ(d.class_names[9], "parachute");
    std::map<int, int> counts;
    for (const auto& s : d.samples) ++counts[s.label];
    EXPECT_EQ(counts.size(), 10u);
    for (const auto& [label, n] : counts) EXPECT_GT(n, 300) << d.class_names[label];
}

TEST(EvalDatasetShared, Cifar10) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const Dataset d = read_dataset("cifar10:" + (shared / "data" / "cifar-10-batches-bin").string());
    EXPECT_EQ(d.samples.size(), 10000u);
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                                        "frog", "horse", "ship", "truck"}));
    std::vector<int> counts(10);
    for (const auto& s : d.samples) ++counts[s.label];
    for (int n : counts) EXPECT_EQ(n, 1000);
    const int first_labels[] = {0, 4, 0, 6, 7, 4, 1, 7, 3, 9};  // bytes 0, 3073, 6146, ... of the file
    for (int i = 0; i < 10; ++i) EXPECT_EQ(d.samples[i].label, first_labels[i]) << i;
}

TEST(EvalDatasetShared, Caltech101Sample) {
    ZEROCLIP_REQUIRE_SHARED(shared);
    const Dataset d = read_dataset("imagefolder:" + (shared / "data" / "caltech101-sample").string());
    EXPECT_EQ(d.samples.size(), 25u);
    EXPECT_EQ(d.class_names,
              (std::vector<std::string>{"airplanes", "butterfly", "chair", "dolphin", "grand piano"}));
    std::vector<int> counts(5);
    for (const auto& s : d.samples) ++counts[s.label];
    for (int n : counts) EXPECT_EQ(n, 5);
}
