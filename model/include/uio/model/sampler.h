// Picks the next token from logits: repetition penalty, then greedy (temperature 0) or
// temperature, top-k and top-p sampling with its own seeded generator, so that the same seed
// gives the same tokens on every device. Not thread-safe; one per generation.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace uio::model {

struct SamplingParams {
    float temperature = 0.8f;     // 0: greedy
    int32_t top_k = 40;           // <= 0: whole vocabulary
    float top_p = 0.95f;          // 1: off
    float repeat_penalty = 1.0f;  // 1: off; > 1 discourages tokens seen in the last repeat_last_n
    int32_t repeat_last_n = 64;
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& params);
    // logits: one per vocabulary entry (modified in place); history: tokens so far.
    int32_t sample(std::span<float> logits, std::span<const int32_t> history);

private:
    SamplingParams m_params;
    std::mt19937_64 m_rng;
    std::vector<std::pair<float, int32_t>> m_candidates;
};

}  // namespace uio::model
