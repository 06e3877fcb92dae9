// greedy_ids: the greedy continuation of a prompt given as token ids, through llama.cpp's C API,
// printed as space-separated ids. bench-peers.sh compares it with `uio generate --ids` on the
// same weights before it times either engine.
//   greedy_ids MODEL.gguf N_NEW ID,ID,...

#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: greedy_ids MODEL.gguf N_NEW ID,ID,...\n");
        return 2;
    }
    std::vector<llama_token> prompt;
    std::stringstream list(argv[3]);
    for (std::string id; std::getline(list, id, ',');)
        prompt.push_back(static_cast<llama_token>(std::stoi(id)));
    const int n_new = std::atoi(argv[2]);

    llama_backend_init();
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        std::fprintf(stderr, "greedy_ids: cannot load %s\n", argv[1]);
        return 1;
    }
    llama_context_params params = llama_context_default_params();
    params.n_ctx = static_cast<uint32_t>(prompt.size() + n_new + 8);
    params.n_batch = params.n_ctx;
    llama_context* context = llama_init_from_model(model, params);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    llama_batch batch = llama_batch_get_one(prompt.data(), static_cast<int32_t>(prompt.size()));
    llama_token next = 0;
    for (int i = 0; i < n_new; ++i) {
        if (llama_decode(context, batch) != 0) {
            std::fprintf(stderr, "greedy_ids: decode failed\n");
            return 1;
        }
        const float* logits = llama_get_logits_ith(context, -1);
        next = 0;
        for (int v = 1; v < n_vocab; ++v)
            next = logits[v] > logits[next] ? v : next;
        std::printf(i ? " %d" : "%d", next);
        batch = llama_batch_get_one(&next, 1);
    }
    std::printf("\n");
    llama_free(context);
    llama_model_free(model);
    return 0;
}
