// Pillow's ImagingResample with the BICUBIC filter (a = -0.5), reproduced bit for bit: per output
// pixel a window of support 2 * max(1, scale) (antialiasing when shrinking), weights computed in
// double, normalised, then rounded to 22-bit fixed point; a horizontal pass over only the rows
// the vertical pass reads, uint8 rounding, then the vertical pass. Either pass is skipped when
// its dimension does not change.
#include <cmath>
#include <cstring>

#include "zeroclip/error.h"
#include "zeroclip/image.h"

namespace zeroclip {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic_filter(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// For each output index: the first input index, how many inputs it reads, and their weights.
struct Coefficients {
    int ksize = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<int32_t> weights;  // out_size * ksize, fixed point
};

Coefficients precompute_coefficients(int in_size, int out_size) {
    const double scale = static_cast<double>(in_size) / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 2.0 * filterscale;
    Coefficients c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
    std::vector<double> k(c.ksize);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = (xx + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        int xmin = static_cast<int>(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            k[x] = bicubic_filter((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        int32_t* w = &c.weights[static_cast<size_t>(xx) * c.ksize];
        for (int x = 0; x < xmax; ++x) {
            const double v = ww != 0.0 ? k[x] / ww : k[x];
            w[x] = v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPrecisionBits))
                         : static_cast<int32_t>(0.5 + v * (1 << kPrecisionBits));
        }
        c.first[xx] = xmin;
        c.count[xx] = xmax;
    }
    return c;
}

inline uint8_t clip8(int32_t v) {
    v >>= kPrecisionBits;  // arithmetic shift: floor, as Pillow's lookup table index
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Rows [row0, row0 + out_rows) of `in`, resampled horizontally to `out_width`.
RgbImage resample_horizontal(const RgbImage& in, int row0, int out_rows, int out_width) {
    const Coefficients c = precompute_coefficients(in.width, out_width);
    RgbImage out{out_width, out_rows, std::vector<uint8_t>(static_cast<size_t>(out_width) * out_rows * 3)};
    const size_t in_stride = static_cast<size_t>(in.width) * 3;
    for (int yy = 0; yy < out_rows; ++yy) {
        const uint8_t* src = in.pixels.data() + (row0 + yy) * in_stride;
        uint8_t* dst = out.pixels.data() + static_cast<size_t>(yy) * out_width * 3;
        for (int xx = 0; xx < out_width; ++xx) {
            const int32_t* w = &c.weights[static_cast<size_t>(xx) * c.ksize];
            const uint8_t* p = src + static_cast<size_t>(c.first[xx]) * 3;
            int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < c.count[xx]; ++x, p += 3) {
                s0 += p[0] * w[x];
                s1 += p[1] * w[x];
                s2 += p[2] * w[x];
            }
            dst[3 * xx + 0] = clip8(s0);
            dst[3 * xx + 1] = clip8(s1);
            dst[3 * xx + 2] = clip8(s2);
        }
    }
    return out;
}

// Vertical pass; input row indices are shifted down by `row_shift` (rows the horizontal pass skipped).
RgbImage resample_vertical(const RgbImage& in, const Coefficients& c, int row_shift, int out_height) {
    const size_t row_values = static_cast<size_t>(in.width) * 3;
    RgbImage out{in.width, out_height, std::vector<uint8_t>(row_values * out_height)};
    std::vector<int32_t> sums(row_values);
    for (int yy = 0; yy < out_height; ++yy) {
        const int32_t* w = &c.weights[static_cast<size_t>(yy) * c.ksize];
        std::fill(sums.begin(), sums.end(), 1 << (kPrecisionBits - 1));
        // Same per-pixel summation order as Pillow, with the row as the inner (vectorisable) loop.
        for (int y = 0; y < c.count[yy]; ++y) {
            const uint8_t* src = in.pixels.data() + (c.first[yy] - row_shift + y) * row_values;
            const int32_t weight = w[y];
            for (size_t i = 0; i < row_values; ++i) sums[i] += src[i] * weight;
        }
        uint8_t* dst = out.pixels.data() + yy * row_values;
        for (size_t i = 0; i < row_values; ++i) dst[i] = clip8(sums[i]);
    }
    return out;
}

}  // namespace

RgbImage resize_bicubic(const RgbImage& image, int width, int height) {
    if (width <= 0 || height <= 0 || image.width <= 0 || image.height <= 0) {
        throw Error("resize_bicubic: invalid size " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + " -> " + std::to_string(width) + "x" + std::to_string(height));
    }
    const bool need_horizontal = width != image.width;
    const bool need_vertical = height != image.height;
    if (!need_horizontal && !need_vertical) return image;

    const Coefficients vertical = precompute_coefficients(image.height, height);
    if (!need_horizontal) return resample_vertical(image, vertical, 0, height);

    // Only the source rows the vertical pass reads are resampled horizontally.
    const int first_row = vertical.first[0];
    const int last_row = vertical.first[height - 1] + vertical.count[height - 1];
    const RgbImage temp = resample_horizontal(image, first_row, last_row - first_row, width);
    if (!need_vertical) return temp;
    return resample_vertical(temp, vertical, first_row, height);
}

}  // namespace zeroclip
