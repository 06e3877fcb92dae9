// Which encoder graphs stay alive during incremental TBPTT (uio-method.md §6, step 3): at most
// `size` of the segments seen so far. Reservoir keeps a uniform sample (Vitter's algorithm R):
// after t segments, each one is alive with probability min(1, size / t). Recent keeps the last
// `size` segments, as plain windowed TBPTT does (used to check the incremental bookkeeping).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace uio::model {

enum class WindowPolicy { Reservoir, Recent };

class SegmentWindow {
public:
    SegmentWindow(int64_t size, WindowPolicy policy) : m_size(size), m_policy(policy) {}

    // Offers segment t (0, 1, 2, ... in order); returns the segment evicted to make room, which
    // may be t itself, or nothing while there is room.
    std::optional<int64_t> add(int64_t t, std::mt19937_64& rng) {
        if (static_cast<int64_t>(m_alive.size()) < m_size) {
            m_alive.push_back(t);
            return std::nullopt;
        }
        if (m_policy == WindowPolicy::Recent) {
            const int64_t oldest = m_alive.front();
            m_alive.erase(m_alive.begin());
            m_alive.push_back(t);
            return oldest;
        }
        const auto j = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(t) + 1));  // in [0, t]
        if (j < m_size) {
            const int64_t evicted = m_alive[static_cast<size_t>(j)];
            m_alive[static_cast<size_t>(j)] = t;
            return evicted;
        }
        return t;
    }

    const std::vector<int64_t>& alive() const { return m_alive; }

    // Uniform in [0, n) without modulo bias, the same on every platform (unlike
    // std::uniform_int_distribution): resumed runs must draw what the uninterrupted run drew.
    static uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t x = rng();
        while (x >= limit) {
            x = rng();
        }
        return x % n;
    }

private:
    int64_t m_size;
    WindowPolicy m_policy;
    std::vector<int64_t> m_alive;
};

}  // namespace uio::model
