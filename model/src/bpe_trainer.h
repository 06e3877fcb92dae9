// Trains a SentencePiece-compatible BPE tokenizer (Llama layout: <unk>, <s>, </s>, 256 byte
// pieces, merged pieces by merge order, then single characters) on a text.
#pragma once

#include "sentencepiece_model.h"

#include <string_view>

namespace uio::model {

// vocab_size counts every piece; it must leave room for the 259 fixed pieces and every
// character of the text. Deterministic for a given text.
SpmModel train_bpe(std::string_view text, int32_t vocab_size);

}  // namespace uio::model
