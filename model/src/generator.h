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

// Samples up to request.max_new_tokens after the prompt already in the cache (whose last
// logits are `logits`). on_token sees each id as it is chosen.
Generation decode(LlamaImpl& model, KVCache& cache, at::Tensor logits, std::vector<int32_t> history,
                  const GenerateRequest& request, const std::function<void(int32_t)>& on_token,
                  const std::atomic<bool>* cancel);

// Natural-log probabilities of each next token, from one pass over ids (chunked).
ScoreResult score_tokens(LlamaImpl& model, KVCache& cache, const std::vector<int32_t>& ids, int top_k);

}  // namespace uio::model
