// Rotary position embedding in the Hugging Face "rotate-half" convention: the head dimension is
// split in two halves (x1, x2) and rotated as (x1 cos - x2 sin, x2 cos + x1 sin).
#pragma once

#include "uio/model/config.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace uio::model {

class RopeTable {
public:
    RopeTable() = default;
    // Tables for positions [0, n_positions), computed in f32 as Hugging Face does.
    // linear_factor divides positions (rope_scaling {"type": "linear"}).
    RopeTable(int64_t head_dim, int64_t n_positions, double theta, double linear_factor, const at::Device& device);
    // The model's: its theta and scaling (linear or llama3), for n_positions positions.
    RopeTable(const LlamaConfig& config, int64_t n_positions, const at::Device& device);

    int64_t n_positions() const { return m_cos.size(0); }
    // (T, D) rows for the given int64 positions (T), in dtype.
    at::Tensor cos(const at::Tensor& positions, at::ScalarType dtype) const;
    at::Tensor sin(const at::Tensor& positions, at::ScalarType dtype) const;
    // The f32 row (D) of one position, for CPU tables.
    const float* cos_row(int64_t position) const { return m_cos.data_ptr<float>() + position * m_cos.size(1); }
    const float* sin_row(int64_t position) const { return m_sin.data_ptr<float>() + position * m_sin.size(1); }

private:
    at::Tensor m_cos;  // (P, D) f32
    at::Tensor m_sin;  // (P, D) f32
};

// Both tables at once: (cos, sin), each (T, D) in dtype.
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const RopeTable& table, const at::Tensor& positions,
                                               at::ScalarType dtype);

// x: (B, N, T, D) with cos, sin: (T, D). Returns x rotated.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace uio::model
