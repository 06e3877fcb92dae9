// The inside of Engine, shared by engine.cpp (base model) and engine_memory.cpp (UIO memory).
#pragma once

#include "adapter.h"
#include "llama.h"
#include "uio/model/engine.h"
#include "uio/model/error.h"
#include "ultragist.h"

#include <memory>
#include <optional>

namespace uio::model {

struct UltraGistCompressor {
    UltraGistWeights weights;
    int64_t window = 1024;
    std::vector<int64_t> ratios{2, 4, 8, 16, 32};
    int64_t ratio = 0;  // 0: by each document's length
    std::string fingerprint;
};

struct Engine::Impl {
    EngineOptions options;
    Llama model{nullptr};
    std::shared_ptr<const Tokenizer> tokenizer;  // shared with threads that outlive a reload
    std::filesystem::path dir;
    Adapter adapter{nullptr};
    std::optional<UltraGistCompressor> ultragist;  // loaded instead of an adapter
    std::optional<AdapterInfo> adapter_info;       // hashing the weights is costly: once per adapter
    std::optional<std::string> model_fingerprint;  // once: the base weights never change

    AdapterImpl& require_adapter() {
        if (ultragist) {
            throw ModelError("this needs a UIO adapter; the engine has UltraGist as its compressor");
        }
        if (!adapter) {
            throw ModelError("no adapter is loaded: create one with 'uio adapter new' or load one with --adapter");
        }
        return *adapter;
    }

    UltraGistCompressor& require_ultragist() {
        if (!ultragist)
            throw ModelError("UltraGist is not loaded");
        return *ultragist;
    }

    void check_tokens(const std::vector<int32_t>& ids) const {
        for (const int32_t id : ids) {
            if (id < 0 || id >= model->config.n_vocab) {
                throw ModelError("token id " + std::to_string(id) + " is outside the vocabulary of " +
                                 std::to_string(model->config.n_vocab));
            }
        }
    }
};

}  // namespace uio::model
