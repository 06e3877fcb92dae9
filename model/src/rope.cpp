#include "rope.h"

#include "uio/model/error.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace uio::model {

RopeTable::RopeTable(int64_t head_dim, int64_t n_positions, double theta, double linear_factor,
                     const at::Device& device) {
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    // inv_freq[i] = theta^(-2i/D), i < D/2
    const auto inv_freq = 1.0 / at::pow(theta, at::arange(0, head_dim, 2, f32) / static_cast<double>(head_dim));
    const auto t = at::arange(n_positions, f32) / linear_factor;
    const auto freqs = at::outer(t, inv_freq);        // (P, D/2)
    const auto angles = at::cat({freqs, freqs}, -1);  // (P, D)
    m_cos = angles.cos().to(device);
    m_sin = angles.sin().to(device);
}

RopeTable::RopeTable(const LlamaConfig& c, int64_t n_positions, const at::Device& device)
    : RopeTable(c.head_dim(), n_positions, c.rope_theta, c.rope_linear_factor, device) {
    const LlamaConfig::Llama3Rope& l3 = c.rope_llama3;
    if (l3.factor <= 0)
        return;
    // Llama 3.1's rule, per frequency: wavelengths longer than original / low_freq_factor are
    // slowed by factor, shorter than original / high_freq_factor kept, and those between blended.
    const auto f32 = at::TensorOptions().dtype(at::kFloat);  // as Hugging Face computes it
    const int64_t D = c.head_dim();
    auto inv_freq = 1.0 / at::pow(c.rope_theta, at::arange(0, D, 2, f32) / static_cast<double>(D));
    const auto wavelength = 2.0 * M_PI / inv_freq;
    const double original = static_cast<double>(l3.original_positions);
    const double low_wavelength = original / l3.low_freq_factor, high_wavelength = original / l3.high_freq_factor;
    const auto smooth = (original / wavelength - l3.low_freq_factor) / (l3.high_freq_factor - l3.low_freq_factor);
    auto scaled = at::where(wavelength > low_wavelength, inv_freq / l3.factor, inv_freq);
    const auto blended = (1.0 - smooth) * inv_freq / l3.factor + smooth * inv_freq;
    scaled = at::where((wavelength <= low_wavelength) & (wavelength >= high_wavelength), blended, scaled);
    const auto freqs = at::outer(at::arange(n_positions, f32), scaled);  // (P, D/2)
    const auto angles = at::cat({freqs, freqs}, -1);
    m_cos = angles.cos().to(device);
    m_sin = angles.sin().to(device);
}

at::Tensor RopeTable::cos(const at::Tensor& positions, at::ScalarType dtype) const {
    return m_cos.index_select(0, positions).to(dtype);
}

at::Tensor RopeTable::sin(const at::Tensor& positions, at::ScalarType dtype) const {
    return m_sin.index_select(0, positions).to(dtype);
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const RopeTable& table, const at::Tensor& positions,
                                               at::ScalarType dtype) {
    if (positions.numel() > 0 && positions.max().item<int64_t>() >= table.n_positions()) {
        throw ModelError("position " + std::to_string(positions.max().item<int64_t>()) + " is past the " +
                         std::to_string(table.n_positions()) + " positions of the model");
    }
    return {table.cos(positions, dtype), table.sin(positions, dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    const int64_t half = x.size(-1) / 2;
    const auto x1 = x.narrow(-1, 0, half);
    const auto x2 = x.narrow(-1, half, half);
    const auto rotated = at::cat({-x2, x1}, -1);
    return x * cos + rotated * sin;
}

}  // namespace uio::model
