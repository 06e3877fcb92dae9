// Token generation and scoring over a loaded Llama, shared by the plain engine and the
// memory-augmented decoder. Prompts are prefilled in chunks so that memory stays bounded.
#pragma once

#include "llama.h"
#include "uio/model/engine.h"

#include <atomic>
#include <functional>

namespace uio::model {

constexpr int64_t kPrefillChunk = 512;

// Runs `tokens` through the model in chunks, appending to the cache; returns the logits (V)
// of the last token as f32 on the CPU. Checks `cancel` between chunks.
at::Tensor prefill(LlamaImpl& model, KVCache& cache, const std::vector<int32_t>& tokens,
                   const std::atomic<bool>* cancel);

// Feeds one chosen token to the model and returns the next logits (V), f32 on the CPU, or an
// undefined tensor when the context has no room left.
using DecodeStep = std::function<at::Tensor(int32_t id)>;

// Samples up to request.max_new_tokens after a prompt whose last logits are `logits`.
// on_token sees each id as it is chosen.
Generation decode(int32_t eos_id, const DecodeStep& step, at::Tensor logits, std::vector<int32_t> history,
                  const GenerateRequest& request, const std::function<void(int32_t)>& on_token,
                  const std::atomic<bool>* cancel);

// Adds the positions ids[start .. start + T) to a score from their logits (T, V).
void add_scores(ScoreResult& result, const std::vector<int32_t>& ids, int64_t start, const at::Tensor& logits,
                int top_k);
void finish_scores(ScoreResult& result);

// Natural-log probabilities of each next token, from one pass over ids (chunked).
ScoreResult score_tokens(LlamaImpl& model, KVCache& cache, const std::vector<int32_t>& ids, int top_k);

}  // namespace uio::model
