// tokenizer.json, as a downloaded model brings it: any bytes either make a tokenizer that encodes
// and decodes text, or throw ModelError.
#include "tokenizer_impl.h"
#include "uio/model/error.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const uio::model::Tokenizer tokenizer(
            uio::model::hf_tokenizer_from_json(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz"));
        const auto ids = tokenizer.encode("Call me Ishmael. Grüße, 123 \xF0\x9F\x90\x8B\n\ttab \xFF<s>");
        (void)tokenizer.decode(ids);
        for (int32_t id = 0; id < std::min(tokenizer.n_vocab(), 64); ++id)
            (void)tokenizer.token_bytes(id, id == 0);
    } catch (const uio::model::ModelError&) {
    }
    return 0;
}
