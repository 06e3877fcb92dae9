#include "uio/services/windowplan.h"

#include <algorithm>
#include <map>

namespace uio::services {

namespace {

// A strong hit's neighbours share some of its score: the passage may start or end across the
// boundary, and what leads to it often matters.
constexpr double kNeighbourShare = 0.5;
// Each document's opening (title, names, what it is about) comes before segments nothing chose.
constexpr double kOpeningScore = 1e-3;

bool document_order(const SegmentRef& a, const SegmentRef& b) {
    return a.document != b.document ? a.document < b.document : a.segment < b.segment;
}

}  // namespace

int64_t WindowBudget::memory_room() const {
    return std::max<int64_t>(0, positions - conversation - answer - passages);
}

int64_t MemoryPlan::positions() const {
    return static_cast<int64_t>(segments.size()) * memory_tokens + tail_tokens;
}

MemoryPlan plan_memories(const std::vector<DocumentOutline>& documents, const WindowBudget& budget,
                         const std::vector<SegmentScore>& relevance) {
    MemoryPlan plan;
    plan.memory_tokens = budget.memory_tokens;
    const int64_t room = budget.memory_room();
    std::vector<SegmentRef> stored;
    int64_t tails = 0;
    for (size_t d = 0; d < documents.size(); ++d) {
        for (const int64_t s : documents[d].stored)
            stored.push_back({d, s});
        tails += documents[d].tail_tokens;
    }
    if (static_cast<int64_t>(stored.size()) * budget.memory_tokens + tails <= room) {
        plan.segments = std::move(stored);
        plan.all = true;
        plan.tail_tokens = tails;
        return plan;
    }
    const auto capacity = static_cast<size_t>(budget.memory_tokens > 0 ? room / budget.memory_tokens : 0);

    // Scores of the stored segments only: a hit on a segment not compressed yet chooses nothing.
    std::map<std::pair<size_t, int64_t>, double> score;
    for (const SegmentRef& s : stored)
        score[{s.document, s.segment}] = s.segment == 0 ? kOpeningScore : 0.0;
    auto add = [&](size_t document, int64_t segment, double value) {
        if (const auto it = score.find({document, segment}); it != score.end())
            it->second += value;
    };
    for (const SegmentScore& r : relevance) {
        add(r.segment.document, r.segment.segment, r.score);
        add(r.segment.document, r.segment.segment - 1, kNeighbourShare * r.score);
        add(r.segment.document, r.segment.segment + 1, kNeighbourShare * r.score);
    }
    std::vector<SegmentRef> ranked;
    std::vector<SegmentRef> rest;  // nothing chose them: spread evenly over what is left
    for (const SegmentRef& s : stored)
        (score[{s.document, s.segment}] > 0 ? ranked : rest).push_back(s);
    std::stable_sort(ranked.begin(), ranked.end(), [&](const SegmentRef& a, const SegmentRef& b) {
        return score[{a.document, a.segment}] > score[{b.document, b.segment}];
    });
    if (ranked.size() > capacity)
        ranked.resize(capacity);
    const size_t left = capacity - ranked.size();
    if (left > 0 && !rest.empty()) {
        const double stride = static_cast<double>(rest.size()) / static_cast<double>(std::min(left, rest.size()));
        for (size_t k = 0; k < left && k < rest.size(); ++k)
            ranked.push_back(rest[static_cast<size_t>(static_cast<double>(k) * stride)]);
    }
    std::sort(ranked.begin(), ranked.end(), document_order);
    plan.segments = std::move(ranked);
    return plan;
}

std::vector<size_t> plan_passages(const std::vector<int64_t>& costs, int64_t budget) {
    std::vector<size_t> chosen;
    int64_t used = 0;
    for (size_t i = 0; i < costs.size(); ++i) {
        if (costs[i] > 0 && used + costs[i] <= budget) {
            chosen.push_back(i);
            used += costs[i];
        }
    }
    return chosen;
}

}  // namespace uio::services
