// What each kind of tokenizer provides behind Tokenizer: SentencePiece (tokenizer.cpp) and
// Hugging Face tokenizer.json BPE (hf_tokenizer.cpp).
#pragma once

#include "uio/model/tokenizer.h"

#include <string>
#include <string_view>
#include <vector>

namespace uio::model {

struct Tokenizer::Impl {
    virtual ~Impl() = default;
    virtual std::vector<int32_t> encode(std::string_view text) const = 0;  // without BOS
    // Bytes the token contributes to a decoded text; `first` for the first after control tokens.
    virtual std::string token_bytes(int32_t id, bool first) const = 0;
    virtual int32_t n_vocab() const = 0;
    virtual const std::string& piece(int32_t id) const = 0;
    virtual bool is_control(int32_t id) const = 0;

    int32_t bos = -1, eos = -1, unk = -1;
    bool add_bos = true;  // encode(text) puts BOS first unless told not to
};

// tokenizer.json and the files beside it. Throws ModelError naming the file.
std::unique_ptr<Tokenizer::Impl> load_hf_tokenizer(const std::filesystem::path& tokenizer_json);
// The same from the JSON text alone (no BOS or EOS unless the text names them). Throws ModelError
// naming `source`.
std::unique_ptr<Tokenizer::Impl> hf_tokenizer_from_json(std::string_view json_text, const std::string& source);

}  // namespace uio::model
