#include "uio/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace uio::model {

Sampler::Sampler(const SamplingParams& params) : m_params(params), m_rng(params.seed) {}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
    const auto n_vocab = static_cast<int32_t>(logits.size());
    if (m_params.repeat_penalty != 1.0f && m_params.repeat_last_n > 0) {
        // As Hugging Face's RepetitionPenaltyLogitsProcessor: once per distinct recent token.
        const size_t first = history.size() > static_cast<size_t>(m_params.repeat_last_n)
                                 ? history.size() - static_cast<size_t>(m_params.repeat_last_n)
                                 : 0;
        std::unordered_set<int32_t> seen(history.begin() + static_cast<std::ptrdiff_t>(first), history.end());
        for (const int32_t id : seen) {
            if (id < 0 || id >= n_vocab)
                continue;
            float& l = logits[static_cast<size_t>(id)];
            l = l > 0 ? l / m_params.repeat_penalty : l * m_params.repeat_penalty;
        }
    }
    if (m_params.temperature <= 0.0f) {
        return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }

    m_candidates.clear();
    for (int32_t i = 0; i < n_vocab; ++i) {
        m_candidates.emplace_back(logits[static_cast<size_t>(i)] / m_params.temperature, i);
    }
    auto by_logit = [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    const size_t k = m_params.top_k > 0 ? std::min<size_t>(static_cast<size_t>(m_params.top_k), m_candidates.size())
                                        : m_candidates.size();
    std::partial_sort(m_candidates.begin(), m_candidates.begin() + static_cast<std::ptrdiff_t>(k), m_candidates.end(),
                      by_logit);
    m_candidates.resize(k);

    // Softmax over the survivors, then the smallest prefix whose mass reaches top_p.
    const float max_logit = m_candidates.front().first;
    double total = 0.0;
    for (auto& [value, id] : m_candidates) {
        value = std::exp(value - max_logit);
        total += value;
    }
    size_t keep = m_candidates.size();
    if (m_params.top_p < 1.0f) {
        double cumulative = 0.0;
        for (size_t i = 0; i < m_candidates.size(); ++i) {
            cumulative += m_candidates[i].first / total;
            if (cumulative >= m_params.top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    double kept_mass = 0.0;
    for (size_t i = 0; i < keep; ++i)
        kept_mass += m_candidates[i].first;
    double r = std::uniform_real_distribution<double>(0.0, kept_mass)(m_rng);
    for (size_t i = 0; i < keep; ++i) {
        r -= m_candidates[i].first;
        if (r <= 0.0)
            return m_candidates[i].second;
    }
    return m_candidates[keep - 1].second;
}

}  // namespace uio::model
