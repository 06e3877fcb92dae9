// tokenizer.model, the SentencePiece protobuf: any bytes either make a tokenizer that encodes and
// decodes text, or throw ModelError.
#include "sentencepiece_model.h"
#include "uio/model/error.h"
#include "uio/model/tokenizer.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto model =
            uio::model::SpmModel::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
        const auto tokenizer = uio::model::Tokenizer::from_model(model, "fuzz");
        const auto ids = tokenizer.encode("Call me Ishmael. Grüße, 123 \xF0\x9F\x90\x8B\n\ttab");
        (void)tokenizer.decode(ids);
        (void)model.serialize();
    } catch (const uio::model::ModelError&) {
    }
    return 0;
}
