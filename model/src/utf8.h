// The two facts about UTF-8 and SentencePiece text that the tokenizer and its trainer share.
#pragma once

#include <cstddef>
#include <string_view>

namespace uio::model {

// U+2581 "▁", the visible space of SentencePiece pieces.
inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";

// Bytes of the UTF-8 character that starts with `lead`; 1 for ASCII and for stray bytes.
inline size_t utf8_length(unsigned char lead) {
    if ((lead >> 5) == 0x6)
        return 2;
    if ((lead >> 4) == 0xE)
        return 3;
    if ((lead >> 3) == 0x1E)
        return 4;
    return 1;
}

}  // namespace uio::model
