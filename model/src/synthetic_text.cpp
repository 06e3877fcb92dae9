#include "uio/model/synthetic_text.h"

#include <cmath>
#include <random>
#include <vector>

namespace uio::model {

namespace {

std::string make_word(std::mt19937_64& rng) {
    static const char* const kOnsets[] = {"b",  "c",  "d",  "f",  "g",  "h",  "j",  "k", "l",  "m",
                                          "n",  "p",  "r",  "s",  "t",  "v",  "w",  "z", "br", "ch",
                                          "cl", "dr", "gr", "pl", "sh", "st", "th", "tr"};
    static const char* const kVowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "ou", "y", "io"};
    static const char* const kCodas[] = {"", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "ck"};
    std::uniform_int_distribution<int> n_syllables(1, 4);
    std::string word;
    const int n = n_syllables(rng);
    for (int i = 0; i < n; ++i) {
        word += kOnsets[rng() % std::size(kOnsets)];
        word += kVowels[rng() % std::size(kVowels)];
        if (i + 1 == n || rng() % 3 == 0) {
            word += kCodas[rng() % std::size(kCodas)];
        }
    }
    return word;
}

}  // namespace

std::string synthetic_text(uint64_t seed, size_t n_words, size_t n_lexicon) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> lexicon(n_lexicon);
    for (auto& word : lexicon) {
        word = make_word(rng);
    }
    // Zipf: word k (0-based) drawn with weight 1 / (k + 1).
    std::vector<double> weights(n_lexicon);
    for (size_t k = 0; k < n_lexicon; ++k) {
        weights[k] = 1.0 / static_cast<double>(k + 1);
    }
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    std::uniform_int_distribution<int> sentence_length(4, 18);
    std::uniform_int_distribution<int> percent(0, 99);

    std::string text;
    size_t words = 0;
    int sentences_in_paragraph = 0;
    while (words < n_words) {
        const int length = sentence_length(rng);
        for (int i = 0; i < length; ++i, ++words) {
            std::string word = percent(rng) < 3 ? std::to_string(rng() % 2000) : lexicon[pick(rng)];
            if (i == 0 && !word.empty() && word[0] >= 'a' && word[0] <= 'z') {
                word[0] = static_cast<char>(word[0] - 'a' + 'A');
            }
            text += word;
            if (i + 1 < length) {
                text += percent(rng) < 8 ? ", " : " ";
            }
        }
        const int end = percent(rng);
        text += end < 80 ? "." : end < 90 ? "?" : end < 97 ? "!" : ";";
        if (++sentences_in_paragraph >= 5 && percent(rng) < 30) {
            text += "\n\n";
            sentences_in_paragraph = 0;
        } else {
            text += " ";
        }
    }
    return text;
}

}  // namespace uio::model
