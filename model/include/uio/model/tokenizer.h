// A BPE tokenizer of either kind a Llama folder ships: a SentencePiece tokenizer.model (the
// Llama-2 kind: dummy-prefix space, "▁" for spaces, highest-score merges first, byte fallback),
// or a Hugging Face tokenizer.json BPE, SentencePiece-style or byte-level (GPT-2, Llama 3), merges
// by rank. Each encodes exactly as its reference library does. Immutable after loading;
// thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace uio::model {

struct SpmModel;

class Tokenizer {
public:
    // Throws ModelError naming the file when it is missing, malformed or not a BPE model.
    // tokenizer.model, or tokenizer.json (with tokenizer_config.json and config.json beside it
    // for BOS and EOS).
    static Tokenizer load(const std::filesystem::path& path);
    // The folder's tokenizer.model, else its tokenizer.json; nothing when it has neither.
    static std::filesystem::path find_in(const std::filesystem::path& model_dir);
    static Tokenizer from_model(const SpmModel& model, const std::string& source);

    std::vector<int32_t> encode(std::string_view text, bool add_bos = true) const;
    // Text of the ids as sentencepiece decodes them: the leading space of the first piece is
    // dropped, byte pieces are joined into UTF-8, control tokens vanish.
    std::string decode(const std::vector<int32_t>& ids) const;

    int32_t n_vocab() const;
    int32_t bos_id() const;
    int32_t eos_id() const;
    int32_t unk_id() const;
    const std::string& piece(int32_t id) const;  // "▁the", "<0x0A>", "<s>"
    bool is_control(int32_t id) const;

    // Bytes this token contributes to a decoded text; `first` drops the dummy-prefix space.
    std::string token_bytes(int32_t id, bool first) const;

    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // The kind behind the interface (src/tokenizer_impl.h).
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);

private:
    std::unique_ptr<Impl> m_impl;
};

// Turns a stream of generated ids into text pieces whose concatenation is decode(all ids):
// bytes of a UTF-8 character split over several byte tokens are held back until complete.
class StreamDecoder {
public:
    // A reply drops the space the first piece carries; text that carries on other text keeps it.
    explicit StreamDecoder(const Tokenizer& tokenizer, bool continues_text = false)
        : m_tokenizer(tokenizer), m_first(!continues_text) {}
    std::string push(int32_t id);  // may be empty
    std::string flush();           // whatever is held back, at the end of the stream

private:
    const Tokenizer& m_tokenizer;
    std::string m_pending;
    bool m_first;
};

}  // namespace uio::model
