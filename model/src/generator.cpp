#include "generator.h"

#include "uio/model/error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>

namespace uio::model {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

at::Tensor token_tensor(const int32_t* ids, int64_t n, const at::Device& device) {
    return at::tensor(at::ArrayRef<int32_t>(ids, static_cast<size_t>(n)), at::kLong).view({1, n}).to(device);
}

bool cancelled(const std::atomic<bool>* cancel) {
    return cancel && cancel->load(std::memory_order_relaxed);
}

}  // namespace

at::Tensor prefill(LlamaImpl& model, KVCache& cache, const std::vector<int32_t>& tokens,
                   const std::atomic<bool>* cancel) {
    TORCH_CHECK(!tokens.empty(), "prefill: no tokens");
    at::Tensor last_hidden;
    for (size_t start = 0; start < tokens.size(); start += kPrefillChunk) {
        if (cancelled(cancel)) {
            throw Cancelled();
        }
        const int64_t n = std::min<int64_t>(kPrefillChunk, static_cast<int64_t>(tokens.size() - start));
        last_hidden = model.hidden(token_tensor(tokens.data() + start, n, model.device()), cache);  // (1, n, C)
    }
    return model.logits(last_hidden.narrow(1, last_hidden.size(1) - 1, 1)).view({-1}).to(at::kCPU);  // (V)
}

Generation decode(int32_t eos_id, const DecodeStep& step, at::Tensor logits, std::vector<int32_t> history,
                  const GenerateRequest& request, const std::function<void(int32_t)>& on_token,
                  const std::atomic<bool>* cancel) {
    Generation result;
    Sampler sampler(request.sampling);
    const auto start = Clock::now();
    while (true) {
        if (static_cast<int32_t>(result.ids.size()) >= request.max_new_tokens) {
            result.stop = StopReason::MaxTokens;
            break;
        }
        if (cancelled(cancel)) {
            result.stop = StopReason::Cancelled;
            break;
        }
        const int32_t id = sampler.sample({logits.data_ptr<float>(), static_cast<size_t>(logits.numel())}, history);
        if (id == eos_id && !request.ignore_eos) {
            result.stop = StopReason::Eos;
            break;
        }
        result.ids.push_back(id);
        history.push_back(id);
        if (on_token) {
            on_token(id);
        }
        logits = step(id);
        if (!logits.defined()) {
            result.stop = StopReason::ContextFull;
            break;
        }
    }
    result.decode_seconds = seconds_since(start);
    return result;
}

void add_scores(ScoreResult& result, const std::vector<int32_t>& ids, int64_t start, const at::Tensor& logits,
                int top_k) {
    const auto n = static_cast<int64_t>(ids.size());
    const int64_t len = logits.size(0);
    const auto logprobs = at::log_softmax(logits.to(at::kFloat), -1).to(at::kCPU).to(at::kDouble).contiguous();
    const auto lp = logprobs.accessor<double, 2>();
    at::Tensor top_values, top_ids;
    if (top_k > 0) {
        std::tie(top_values, top_ids) = logprobs.topk(std::min<int64_t>(top_k, logprobs.size(-1)), -1);
        top_ids = top_ids.contiguous();
        top_values = top_values.contiguous();
    }
    for (int64_t i = 0; i < len; ++i) {
        const int64_t index = start + i;
        ScoredPosition p;
        p.token = ids[index];
        if (index + 1 < n) {
            p.next = ids[index + 1];
            p.next_logprob = lp[i][*p.next];
            result.sum_logprob += *p.next_logprob;
        }
        for (int64_t k = 0; top_k > 0 && k < top_ids.size(1); ++k) {
            p.top.emplace_back(static_cast<int32_t>(top_ids.accessor<int64_t, 2>()[i][k]),
                               top_values.accessor<double, 2>()[i][k]);
        }
        result.positions.push_back(std::move(p));
    }
}

void finish_scores(ScoreResult& result) {
    const auto n = static_cast<double>(result.positions.size());
    result.perplexity = n > 1 ? std::exp(-result.sum_logprob / (n - 1)) : 1.0;
}

ScoreResult score_tokens(LlamaImpl& model, KVCache& cache, const std::vector<int32_t>& ids, int top_k) {
    ScoreResult result;
    const auto n = static_cast<int64_t>(ids.size());
    for (int64_t start = 0; start < n; start += kPrefillChunk) {
        const int64_t len = std::min<int64_t>(kPrefillChunk, n - start);
        add_scores(result, ids, start, model.forward(token_tensor(ids.data() + start, len, model.device()), cache)[0],
                   top_k);
    }
    finish_scores(result);
    return result;
}

}  // namespace uio::model
