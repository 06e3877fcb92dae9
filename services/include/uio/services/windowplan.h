// What goes into the model's window for a question, position by position: the conversation (system
// prompt, kept turns, the question), the room for the answer, verbatim passages, and memories in
// the rest. When every stored segment's memory fits, all go in with the documents' uncompressed
// tails, as before; otherwise segments are chosen by relevance (the passages the question matches,
// their neighbours, each document's opening) and then spread evenly over what is left, and keep
// document order. Pure functions: no model, no database.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace uio::services {

// One document of a chat, as far as memories go.
struct DocumentOutline {
    std::vector<int64_t> stored;  // indices of its stored segments, ascending
    int64_t tail_tokens = 0;      // the uncompressed tail after its last full segment
};

struct WindowBudget {
    int64_t positions = 0;      // the model's
    int64_t conversation = 0;   // system prompt, kept turns and the question
    int64_t answer = 0;         // room kept for the answer
    int64_t passages = 0;       // placed verbatim passages
    int64_t memory_tokens = 0;  // per segment (m)
    // What is left for memories (and tails); never negative.
    int64_t memory_room() const;
};

struct SegmentRef {
    size_t document = 0;  // index in the chat's documents
    int64_t segment = 0;
    bool operator==(const SegmentRef&) const = default;
};

// How relevant a segment is to the question; larger is better. Several for one segment add up.
struct SegmentScore {
    SegmentRef segment;
    double score = 0.0;
};

struct MemoryPlan {
    std::vector<SegmentRef> segments;  // in document order
    bool all = false;                  // every stored segment, and the tails
    int64_t positions() const;         // memories and tails, for the budget check
    int64_t memory_tokens = 0;
    int64_t tail_tokens = 0;  // when `all`
};

MemoryPlan plan_memories(const std::vector<DocumentOutline>& documents, const WindowBudget& budget,
                         const std::vector<SegmentScore>& relevance);

// Chooses verbatim passages best first until `budget` positions are used: indices into `costs`
// (each passage's positions, in ranking order), skipping those that do not fit.
std::vector<size_t> plan_passages(const std::vector<int64_t>& costs, int64_t budget);

}  // namespace uio::services
