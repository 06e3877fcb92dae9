// The SentencePiece model file (tokenizer.model): a protobuf ModelProto, read and written here
// with a small wire-format codec, so that no protobuf runtime is needed. (Debian's libsentencepiece
// bundles a protobuf that clashes with libtorch's in one process.) Only the fields a BPE
// tokenizer uses are kept; unknown fields are skipped when reading.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uio::model {

struct SpmPiece {
    enum Type : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };
    std::string piece;
    float score = 0.0f;
    Type type = Normal;
};

struct SpmModel {
    enum ModelType : int32_t { Unigram = 1, Bpe = 2, Word = 3, Char = 4 };
    std::vector<SpmPiece> pieces;
    // trainer_spec
    ModelType model_type = Unigram;
    int32_t vocab_size = 0;
    bool byte_fallback = false;
    int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
    // normalizer_spec
    std::string normalizer_name;
    std::string precompiled_charsmap;
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = true;
    bool escape_whitespaces = true;

    // Throws ModelError naming `source` on malformed bytes.
    static SpmModel parse(std::string_view bytes, const std::string& source);
    std::string serialize() const;
};

}  // namespace uio::model
