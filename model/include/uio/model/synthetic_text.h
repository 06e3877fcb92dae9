// Deterministic English-like text from a seed: sentences of invented words with a Zipf-like
// frequency, punctuation, numbers and paragraphs. For training the tokenizers of generated
// models and for test and benchmark documents; never for anything a user reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace uio::model {

// About n_words words; the same seed and count always give the same text. n_lexicon bounds the
// number of distinct words.
std::string synthetic_text(uint64_t seed, size_t n_words, size_t n_lexicon = 5000);

}  // namespace uio::model
