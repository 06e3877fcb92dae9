#include "bpe_trainer.h"

#include "uio/model/error.h"
#include "utf8.h"

#include <queue>

#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

namespace uio::model {

namespace {

constexpr int32_t kFixedPieces = 3 + 256;

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

SpmModel train_bpe(std::string_view text, int32_t vocab_size) {
    // Words are whitespace-separated and carry their leading space as "▁"; digits stand alone.
    std::map<std::string, int64_t> word_counts;
    std::string current;
    auto finish_word = [&] {
        if (!current.empty()) {
            ++word_counts[std::string(kSpaceSymbol) + current];
            current.clear();
        }
    };
    for (const char c : text) {
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            finish_word();
        } else {
            current.push_back(c);
        }
    }
    finish_word();

    // Symbols: every character first, merged pieces appended as they are made.
    std::vector<std::string> symbol_text;
    std::unordered_map<std::string, int32_t> symbol_id;
    auto intern = [&](const std::string& s) {
        const auto [it, added] = symbol_id.emplace(s, static_cast<int32_t>(symbol_text.size()));
        if (added)
            symbol_text.push_back(s);
        return it->second;
    };
    struct Word {
        std::vector<int32_t> symbols;
        int64_t count;
    };
    std::vector<Word> words;
    std::set<std::string> characters;
    for (const auto& [word, count] : word_counts) {
        Word w{{}, count};
        for (size_t i = 0; i < word.size();) {
            const size_t n = std::min(utf8_length(static_cast<unsigned char>(word[i])), word.size() - i);
            const std::string c = word.substr(i, n);
            characters.insert(c);
            w.symbols.push_back(intern(c));
            i += n;
        }
        words.push_back(std::move(w));
    }
    const int32_t n_merges = vocab_size - kFixedPieces - static_cast<int32_t>(characters.size());
    if (n_merges < 0) {
        throw ModelError("a vocabulary of " + std::to_string(vocab_size) + " pieces cannot hold the " +
                         std::to_string(characters.size()) + " characters of the training text");
    }

    std::unordered_map<uint64_t, int64_t> pair_count;
    std::unordered_map<uint64_t, std::set<size_t>> pair_words;
    auto is_digit = [&](int32_t s) {
        const std::string& t = symbol_text[s];
        return t.size() == 1 && t[0] >= '0' && t[0] <= '9';
    };
    auto add_pair = [&](int32_t a, int32_t b, size_t w, int64_t count) {
        if (is_digit(a) || is_digit(b))
            return;  // split_digits, as Llama's tokenizer was trained
        pair_count[pair_key(a, b)] += count;
        if (count > 0)
            pair_words[pair_key(a, b)].insert(w);
    };
    for (size_t w = 0; w < words.size(); ++w) {
        for (size_t i = 0; i + 1 < words[w].symbols.size(); ++i) {
            add_pair(words[w].symbols[i], words[w].symbols[i + 1], w, words[w].count);
        }
    }
    // Highest count first; ties go to the pair made of earlier symbols, so training is deterministic.
    using Entry = std::pair<int64_t, uint64_t>;
    auto cmp = [](const Entry& x, const Entry& y) {
        return x.first < y.first || (x.first == y.first && x.second > y.second);
    };
    std::priority_queue<Entry, std::vector<Entry>, decltype(cmp)> heap(cmp);
    for (const auto& [key, count] : pair_count)
        heap.push({count, key});

    std::vector<std::string> merged;
    while (static_cast<int32_t>(merged.size()) < n_merges && !heap.empty()) {
        const auto [count, key] = heap.top();
        heap.pop();
        if (count <= 0 || pair_count[key] != count)
            continue;  // stale entry
        const auto a = static_cast<int32_t>(key >> 32), b = static_cast<int32_t>(key & 0xffffffffu);
        const int32_t c = intern(symbol_text[a] + symbol_text[b]);
        merged.push_back(symbol_text[c]);
        std::set<uint64_t> touched;
        for (const size_t w : std::set<size_t>(pair_words[key])) {
            auto& s = words[w].symbols;
            const int64_t n = words[w].count;
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                if (s[i] != a || s[i + 1] != b)
                    continue;
                if (i > 0) {
                    add_pair(s[i - 1], a, w, -n);
                    add_pair(s[i - 1], c, w, n);
                    touched.insert(pair_key(s[i - 1], c));
                    touched.insert(pair_key(s[i - 1], a));
                }
                if (i + 2 < s.size()) {
                    add_pair(b, s[i + 2], w, -n);
                    add_pair(c, s[i + 2], w, n);
                    touched.insert(pair_key(c, s[i + 2]));
                    touched.insert(pair_key(b, s[i + 2]));
                }
                pair_count[key] -= n;
                s[i] = c;
                s.erase(s.begin() + static_cast<std::ptrdiff_t>(i) + 1);
            }
        }
        pair_count.erase(key);
        pair_words.erase(key);
        for (const uint64_t t : touched) {
            const auto it = pair_count.find(t);
            if (it != pair_count.end() && it->second > 0)
                heap.push({it->second, t});
        }
    }

    SpmModel model;
    model.model_type = SpmModel::Bpe;
    model.byte_fallback = true;
    model.normalizer_name = "identity";
    model.add_dummy_prefix = true;
    model.remove_extra_whitespaces = false;
    model.escape_whitespaces = true;
    model.unk_id = 0;
    model.bos_id = 1;
    model.eos_id = 2;
    model.pieces.push_back({"<unk>", 0.0f, SpmPiece::Unknown});
    model.pieces.push_back({"<s>", 0.0f, SpmPiece::Control});
    model.pieces.push_back({"</s>", 0.0f, SpmPiece::Control});
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        model.pieces.push_back({name, 0.0f, SpmPiece::Byte});
    }
    float score = 0.0f;
    for (const std::string& piece : merged) {
        model.pieces.push_back({piece, score, SpmPiece::Normal});
        score -= 1.0f;
    }
    for (const std::string& c : characters) {
        model.pieces.push_back({c, score, SpmPiece::Normal});
        score -= 1.0f;
    }
    model.vocab_size = static_cast<int32_t>(model.pieces.size());
    return model;
}

}  // namespace uio::model
