// Hugging Face tokenizer.json BPE, the way the tokenizers library runs it: added tokens are cut
// out of the text first; each piece between them is normalized (Prepend, Replace), split into
// words (Metaspace, ByteLevel, a Split regex, or nothing), and each word is merged by rank from
// its characters, with byte fallback or the unknown token for characters outside the vocabulary.
// Decoding undoes the supported decoders (Replace "▁", ByteFallback, Fuse, Strip, ByteLevel,
// Metaspace). Anything else is refused by name, never approximated.

#include "tokenizer_impl.h"
#include "uio/model/error.h"
#include "utf8.h"

#include <queue>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#ifdef UIO_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

namespace uio::model {

namespace {

using json = nlohmann::json;

constexpr std::string_view kMetaspace = kSpaceSymbol;  // "▁"
constexpr int64_t kMaxId = int64_t(1) << 22;           // 4M ids: far above any vocabulary

std::string utf8_encode(char32_t c) {
    std::string out;
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
    return out;
}

// GPT-2's map of bytes to printable characters: bytes that print stand for themselves, the rest
// take the code points from 256 on, in order.
std::array<std::string, 256> byte_level_chars() {
    std::array<std::string, 256> chars;
    int next = 256;
    for (int b = 0; b < 256; ++b) {
        const bool prints = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        chars[static_cast<size_t>(b)] = utf8_encode(static_cast<char32_t>(prints ? b : next++));
    }
    return chars;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    if (from.empty())
        return std::string(text);
    std::string out;
    size_t start = 0;
    for (size_t pos; (pos = text.find(from, start)) != std::string_view::npos; start = pos + from.size())
        out.append(text.substr(start, pos - start)).append(to);
    return out.append(text.substr(start));
}

// The UTF-8 characters of s.
std::vector<std::string_view> characters(std::string_view s) {
    std::vector<std::string_view> out;
    for (size_t i = 0; i < s.size();) {
        const size_t n = std::min(utf8_length(static_cast<unsigned char>(s[i])), s.size() - i);
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

#ifdef UIO_HAVE_PCRE2
// A compiled Split pattern; matches over UTF-8 with Unicode classes (\p{L}, \p{N}).
class Regex {
public:
    Regex(const std::string& pattern, const std::string& source) {
        int error = 0;
        PCRE2_SIZE at = 0;
        m_code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                               &error, &at, nullptr);
        if (!m_code) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(error, message, sizeof message);
            throw ModelError(source + ": the pre-tokenizer's pattern does not compile (" +
                             reinterpret_cast<const char*>(message) + ")");
        }
        m_data = pcre2_match_data_create_from_pattern(m_code, nullptr);
        m_context = pcre2_match_context_create(nullptr);
        pcre2_set_match_limit(m_context, 1'000'000);  // a pattern that backtracks without end fails
    }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;
    ~Regex() {
        pcre2_match_context_free(m_context);
        pcre2_match_data_free(m_data);
        pcre2_code_free(m_code);
    }
    // [begin, end) of every match, left to right.
    std::vector<std::pair<size_t, size_t>> matches(std::string_view s) const {
        std::vector<std::pair<size_t, size_t>> out;
        size_t at = 0;
        while (at <= s.size()) {
            const int rc =
                pcre2_match(m_code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), at, 0, m_data, m_context);
            if (rc == PCRE2_ERROR_MATCHLIMIT)
                throw ModelError("the tokenizer's pre-tokenizer pattern takes too long on this text");
            if (rc < 0)
                break;
            const PCRE2_SIZE* v = pcre2_get_ovector_pointer(m_data);
            if (v[1] == v[0]) {  // empty: step over one character
                at = v[0] + (v[0] < s.size() ? utf8_length(static_cast<unsigned char>(s[v[0]])) : 1);
                continue;
            }
            out.emplace_back(v[0], v[1]);
            at = v[1];
        }
        return out;
    }

private:
    pcre2_code* m_code = nullptr;
    pcre2_match_data* m_data = nullptr;
    pcre2_match_context* m_context = nullptr;
};
#else
class Regex {
public:
    Regex(const std::string&, const std::string& source) {
        throw ModelError(source +
                         ": its pre-tokenizer splits with a regular expression, which this build cannot "
                         "run (it was built without PCRE2: install libpcre2-dev and rebuild)");
    }
    std::vector<std::pair<size_t, size_t>> matches(std::string_view) const { return {}; }
};
#endif

const std::string kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct PreTokenizer {
    enum Kind { Metaspace, ByteLevel, Split } kind;
    // Metaspace
    std::string replacement{kMetaspace};
    enum Prepend { Always, First, Never } prepend = Always;
    bool split = true;
    // ByteLevel
    bool add_prefix_space = false;
    // ByteLevel with its own pattern, or Split
    std::shared_ptr<Regex> regex;
    enum Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext } behavior = Isolated;
};

struct Decoding {
    bool metaspace = false;  // "▁" reads as a space
    bool byte_fallback = false;
    bool byte_level = false;
    int strip_leading = 0;  // spaces dropped from the start of the text
};

class HfTokenizer final : public Tokenizer::Impl {
public:
    HfTokenizer(const json& j, const std::string& source);

    std::vector<int32_t> encode(std::string_view text) const override;
    std::string token_bytes(int32_t id, bool first) const override;
    int32_t n_vocab() const override { return static_cast<int32_t>(m_pieces.size()); }
    const std::string& piece(int32_t id) const override {
        static const std::string kOutOfRange = "<out of vocabulary>";
        return id >= 0 && id < n_vocab() ? m_pieces[static_cast<size_t>(id)] : kOutOfRange;
    }
    bool is_control(int32_t id) const override { return m_special.count(id) != 0; }

    int32_t id_of(const std::string& piece) const {
        const auto it = m_vocab.find(piece);
        return it == m_vocab.end() ? -1 : it->second;
    }

private:
    void read_normalizer(const json& n);
    void read_pre_tokenizer(const json& p);
    void read_decoder(const json& d);
    std::vector<std::string> words(std::string text, bool first_piece) const;
    void merge_word(const std::string& word, std::vector<int32_t>& ids) const;

    std::string m_source;
    std::unordered_map<std::string, int32_t> m_vocab;
    std::vector<std::string> m_pieces;
    std::map<std::pair<int32_t, int32_t>, std::pair<int32_t, int32_t>> m_merges;  // pair -> (rank, merged id)
    std::vector<std::pair<std::string, int32_t>> m_added;                         // longest first
    std::array<bool, 256> m_added_starts{};  // first bytes of added tokens: most bytes start none
    std::set<int32_t> m_special;
    bool m_byte_fallback = false, m_fuse_unk = false, m_ignore_merges = false;
    std::array<int32_t, 256> m_byte_ids{};
    std::vector<std::pair<std::string, std::string>> m_replace;  // normalizer, in order
    std::string m_prepend;
    std::vector<PreTokenizer> m_pre;
    Decoding m_decoding;
    std::array<std::string, 256> m_byte_chars = byte_level_chars();
    std::unordered_map<std::string, unsigned char> m_char_bytes;
};

// A whole number from the file, never through a cast that could overflow.
int64_t whole(const json& v, const std::string& what, const std::string& source) {
    if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(kMaxId))
        return static_cast<int64_t>(v.get<uint64_t>());
    if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() >= -kMaxId && v.get<int64_t>() <= kMaxId)
        return v.get<int64_t>();
    throw ModelError(source + ": " + what + " is " + v.dump() + ", not a whole number in range");
}

[[noreturn]] void refuse(const std::string& source, const std::string& what) {
    throw ModelError(source + ": " + what +
                     " is not supported (UIO Desk reads BPE tokenizers, SentencePiece-style "
                     "or byte-level)");
}

HfTokenizer::HfTokenizer(const json& j, const std::string& source) : m_source(source) {
    const json& model = j.at("model");
    if (model.value("type", "BPE") != "BPE")
        refuse(source, "a " + model.value("type", std::string("?")) + " model");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (model.contains(key) && !model[key].is_null() && !model[key].get<std::string>().empty())
            refuse(source, std::string("a BPE model with ") + key);
    if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() > 0)
        refuse(source, "BPE dropout");
    for (const auto& [piece, id] : model.at("vocab").items()) {
        const int64_t i = whole(id, "a token id", source);
        if (i < 0 || i >= kMaxId)
            throw ModelError(source + ": token id " + std::to_string(i) + " is outside 0.." + std::to_string(kMaxId));
        if (static_cast<size_t>(i) >= m_pieces.size())
            m_pieces.resize(static_cast<size_t>(i) + 1);
        m_pieces[static_cast<size_t>(i)] = piece;
        m_vocab[piece] = static_cast<int32_t>(i);
    }
    for (const json& a : j.value("added_tokens", json::array())) {
        const int64_t id64 = whole(a.at("id"), "an added token's id", source);
        const auto content = a.at("content").get<std::string>();
        if (id64 < 0 || id64 >= kMaxId)
            throw ModelError(source + ": token id " + std::to_string(id64) + " is outside 0.." +
                             std::to_string(kMaxId));
        const auto id = static_cast<int32_t>(id64);
        if (static_cast<size_t>(id) >= m_pieces.size())
            m_pieces.resize(static_cast<size_t>(id) + 1);
        m_pieces[static_cast<size_t>(id)] = content;
        m_vocab.emplace(content, id);
        if (!content.empty())
            m_added.emplace_back(content, id);
        if (a.value("special", false))
            m_special.insert(id);
    }
    std::stable_sort(m_added.begin(), m_added.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& [content, id] : m_added)
        m_added_starts[static_cast<unsigned char>(content[0])] = true;
    int32_t rank = 0;
    for (const json& m : model.value("merges", json::array())) {
        std::string left, right;
        if (m.is_string()) {
            const auto s = m.get<std::string>();
            const size_t space = s.find(' ', 1);
            if (space == std::string::npos)
                throw ModelError(source + ": a merge without two parts (\"" + s + "\")");
            left = s.substr(0, space);
            right = s.substr(space + 1);
        } else {
            left = m.at(0).get<std::string>();
            right = m.at(1).get<std::string>();
        }
        const int32_t a = id_of(left), b = id_of(right), merged = id_of(left + right);
        if (a < 0 || b < 0 || merged < 0)
            throw ModelError(source + ": the merge \"" + left + " " + right +
                             "\" names a piece outside the vocabulary");
        m_merges.emplace(std::pair{a, b}, std::pair{rank++, merged});
    }
    m_byte_fallback = model.value("byte_fallback", false);
    m_fuse_unk = model.value("fuse_unk", false);
    m_ignore_merges = model.value("ignore_merges", false);
    m_byte_ids.fill(-1);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        m_byte_ids[static_cast<size_t>(b)] = id_of(name);
        m_char_bytes[m_byte_chars[static_cast<size_t>(b)]] = static_cast<unsigned char>(b);
    }
    if (model.contains("unk_token") && model["unk_token"].is_string())
        unk = id_of(model["unk_token"].get<std::string>());
    read_normalizer(j.value("normalizer", json()));
    read_pre_tokenizer(j.value("pre_tokenizer", json()));
    read_decoder(j.value("decoder", json()));
}

void HfTokenizer::read_normalizer(const json& n) {
    if (n.is_null())
        return;
    const std::string type = n.value("type", "");
    if (type == "Sequence") {
        for (const json& each : n.at("normalizers"))
            read_normalizer(each);
    } else if (type == "Prepend") {
        m_prepend = n.at("prepend").get<std::string>();
    } else if (type == "Replace") {
        if (!n.at("pattern").contains("String"))
            refuse(m_source, "a Replace normalizer with a regular expression");
        m_replace.emplace_back(n.at("pattern").at("String").get<std::string>(), n.at("content").get<std::string>());
    } else {
        refuse(m_source, "the normalizer \"" + type + "\"");
    }
}

void HfTokenizer::read_pre_tokenizer(const json& p) {
    if (p.is_null())
        return;
    const std::string type = p.value("type", "");
    PreTokenizer pre{};
    if (type == "Sequence") {
        for (const json& each : p.at("pretokenizers"))
            read_pre_tokenizer(each);
        return;
    }
    if (type == "Metaspace") {
        pre.kind = PreTokenizer::Metaspace;
        pre.replacement = p.value("replacement", std::string(kMetaspace));
        const std::string scheme = p.contains("prepend_scheme")
                                       ? p.value("prepend_scheme", "always")
                                       : (p.value("add_prefix_space", true) ? "always" : "never");
        pre.prepend = scheme == "first"   ? PreTokenizer::First
                      : scheme == "never" ? PreTokenizer::Never
                                          : PreTokenizer::Always;
        pre.split = p.value("split", true);
    } else if (type == "ByteLevel") {
        pre.kind = PreTokenizer::ByteLevel;
        pre.add_prefix_space = p.value("add_prefix_space", false);
        if (p.value("use_regex", true))
            pre.regex = std::make_shared<Regex>(kGpt2Pattern, m_source);
    } else if (type == "Split") {
        pre.kind = PreTokenizer::Split;
        if (p.value("invert", false))
            refuse(m_source, "an inverted Split pre-tokenizer");
        const json& pattern = p.at("pattern");
        std::string regex;
        if (pattern.contains("Regex")) {
            regex = pattern.at("Regex").get<std::string>();
        } else {  // a plain string, matched literally
            for (const char c : pattern.at("String").get<std::string>()) {
                if (std::string_view(R"(\^$.|?*+()[]{})").find(c) != std::string_view::npos)
                    regex.push_back('\\');
                regex.push_back(c);
            }
        }
        pre.regex = std::make_shared<Regex>(regex, m_source);
        const std::string behavior = p.value("behavior", "Isolated");
        if (behavior == "Isolated")
            pre.behavior = PreTokenizer::Isolated;
        else if (behavior == "Removed")
            pre.behavior = PreTokenizer::Removed;
        else if (behavior == "MergedWithPrevious")
            pre.behavior = PreTokenizer::MergedWithPrevious;
        else if (behavior == "MergedWithNext")
            pre.behavior = PreTokenizer::MergedWithNext;
        else
            refuse(m_source, "the Split behaviour \"" + behavior + "\"");
    } else {
        refuse(m_source, "the pre-tokenizer \"" + type + "\"");
    }
    m_pre.push_back(std::move(pre));
}

void HfTokenizer::read_decoder(const json& d) {
    if (d.is_null())
        return;
    const std::string type = d.value("type", "");
    if (type == "Sequence") {
        for (const json& each : d.at("decoders"))
            read_decoder(each);
    } else if (type == "Replace") {
        if (!d.at("pattern").contains("String") || d.at("pattern").at("String") != kMetaspace ||
            d.value("content", "") != " ")
            refuse(m_source, "a Replace decoder other than \"▁\" to a space");
        m_decoding.metaspace = true;
    } else if (type == "ByteFallback") {
        m_decoding.byte_fallback = true;
    } else if (type == "Fuse") {
    } else if (type == "Strip") {
        const int64_t start = d.contains("start") ? whole(d["start"], "Strip's start", m_source) : 0;
        const int64_t stop = d.contains("stop") ? whole(d["stop"], "Strip's stop", m_source) : 0;
        if (d.value("content", " ") != " " || stop != 0 || start < 0 || start > 16)
            refuse(m_source, "a Strip decoder other than of a few leading spaces");
        m_decoding.strip_leading = static_cast<int>(start);
    } else if (type == "ByteLevel") {
        m_decoding.byte_level = true;
    } else if (type == "Metaspace") {
        m_decoding.metaspace = true;
        const bool prepends = d.contains("prepend_scheme") ? d.value("prepend_scheme", "always") != "never"
                                                           : d.value("add_prefix_space", true);
        m_decoding.strip_leading = prepends ? 1 : 0;
    } else {
        refuse(m_source, "the decoder \"" + type + "\"");
    }
}

std::vector<std::string> HfTokenizer::words(std::string text, bool first_piece) const {
    for (const auto& [from, to] : m_replace)
        text = replace_all(text, from, to);
    if (!m_prepend.empty() && !text.empty())
        text = m_prepend + text;
    std::vector<std::string> words{text};
    for (const PreTokenizer& pre : m_pre) {
        std::vector<std::string> next;
        for (std::string& w : words) {
            switch (pre.kind) {
                case PreTokenizer::Metaspace: {
                    std::string s = replace_all(w, " ", pre.replacement);
                    const bool prepend = pre.prepend == PreTokenizer::Always ||
                                         (pre.prepend == PreTokenizer::First && first_piece && &w == &words.front());
                    if (prepend && !s.starts_with(pre.replacement))
                        s = pre.replacement + s;
                    if (!pre.split) {
                        next.push_back(s);
                        break;
                    }
                    size_t start = 0;  // each word begins with the replacement
                    for (size_t at = s.find(pre.replacement, 1); at != std::string::npos;
                         at = s.find(pre.replacement, at + 1)) {
                        next.push_back(s.substr(start, at - start));
                        start = at;
                    }
                    next.push_back(s.substr(start));
                    break;
                }
                case PreTokenizer::ByteLevel:
                case PreTokenizer::Split: {
                    std::string s = w;
                    if (pre.kind == PreTokenizer::ByteLevel && pre.add_prefix_space && !s.starts_with(' '))
                        s = " " + s;
                    // Matches and the text between them, then joined as the behaviour says.
                    std::vector<std::pair<std::string, bool>> segments;  // (text, is a match)
                    size_t last = 0;
                    if (pre.regex) {
                        for (const auto& [b, e] : pre.regex->matches(s)) {
                            if (b > last)
                                segments.emplace_back(s.substr(last, b - last), false);
                            segments.emplace_back(s.substr(b, e - b), true);
                            last = e;
                        }
                    }
                    if (last < s.size())
                        segments.emplace_back(s.substr(last), false);
                    const auto behavior = pre.kind == PreTokenizer::ByteLevel ? PreTokenizer::Isolated : pre.behavior;
                    std::vector<std::string> parts;
                    bool carry = false;  // MergedWithNext: the last part waits for what follows
                    for (auto& [piece, match] : segments) {
                        if (match && behavior == PreTokenizer::Removed)
                            continue;
                        if (carry) {
                            parts.back() += piece;
                            carry = false;
                        } else if (match && behavior == PreTokenizer::MergedWithPrevious && !parts.empty()) {
                            parts.back() += piece;
                            continue;
                        } else {
                            parts.push_back(piece);
                        }
                        carry = match && behavior == PreTokenizer::MergedWithNext;
                    }
                    for (std::string& part : parts) {
                        if (pre.kind == PreTokenizer::ByteLevel) {
                            std::string mapped;
                            for (const char c : part)
                                mapped += m_byte_chars[static_cast<unsigned char>(c)];
                            part = std::move(mapped);
                        }
                        next.push_back(std::move(part));
                    }
                    break;
                }
            }
        }
        words = std::move(next);
    }
    words.erase(std::remove_if(words.begin(), words.end(), [](const std::string& w) { return w.empty(); }),
                words.end());
    return words;
}

void HfTokenizer::merge_word(const std::string& word, std::vector<int32_t>& ids) const {
    if (m_ignore_merges) {
        if (const int32_t whole = id_of(word); whole >= 0) {
            ids.push_back(whole);
            return;
        }
    }
    // Initial symbols: a character's own piece, else its bytes' pieces, else the unknown token.
    struct Symbol {
        int32_t id;
        int prev, next;
        bool alive = true;
    };
    std::vector<Symbol> symbols;
    auto add = [&](int32_t id) {
        const int i = static_cast<int>(symbols.size());
        symbols.push_back({id, i - 1, i + 1});
    };
    for (const std::string_view c : characters(word)) {
        if (const int32_t id = id_of(std::string(c)); id >= 0) {
            add(id);
            continue;
        }
        bool bytes = m_byte_fallback;
        for (const char b : c)
            bytes = bytes && m_byte_ids[static_cast<unsigned char>(b)] >= 0;
        if (bytes) {
            for (const char b : c)
                add(m_byte_ids[static_cast<unsigned char>(b)]);
        } else if (unk >= 0) {
            if (!(m_fuse_unk && !symbols.empty() && symbols.back().id == unk))
                add(unk);
        }  // else dropped, as the tokenizers library does without an unknown token
    }
    if (symbols.empty())
        return;
    symbols.back().next = -1;

    // Lowest rank first, leftmost among equals; an entry is stale when either side changed.
    struct Candidate {
        int32_t rank;
        int left, right;
        int32_t merged;
        bool operator<(const Candidate& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
    };
    std::priority_queue<Candidate> agenda;
    auto consider = [&](int left, int right) {
        if (left < 0 || right < 0)
            return;
        const auto it = m_merges.find({symbols[static_cast<size_t>(left)].id, symbols[static_cast<size_t>(right)].id});
        if (it != m_merges.end())
            agenda.push({it->second.first, left, right, it->second.second});
    };
    for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i)
        consider(i, i + 1);
    while (!agenda.empty()) {
        const Candidate top = agenda.top();
        agenda.pop();
        Symbol& l = symbols[static_cast<size_t>(top.left)];
        Symbol& r = symbols[static_cast<size_t>(top.right)];
        if (!l.alive || !r.alive || l.next != top.right)
            continue;
        const auto it = m_merges.find({l.id, r.id});
        if (it == m_merges.end() || it->second.second != top.merged)
            continue;  // the pair changed since it was queued
        l.id = top.merged;
        l.next = r.next;
        if (r.next >= 0)
            symbols[static_cast<size_t>(r.next)].prev = top.left;
        r.alive = false;
        consider(l.prev, top.left);
        consider(top.left, l.next);
    }
    for (int i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next)
        ids.push_back(symbols[static_cast<size_t>(i)].id);
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text) const {
    std::vector<int32_t> ids;
    bool first = true;
    auto encode_piece = [&](std::string_view piece) {
        if (piece.empty())
            return;
        for (const std::string& word : words(std::string(piece), first))
            merge_word(word, ids);
        first = false;
    };
    size_t start = 0, at = 0;
    while (at < text.size()) {
        if (!m_added_starts[static_cast<unsigned char>(text[at])]) {
            ++at;
            continue;
        }
        const auto hit = std::find_if(m_added.begin(), m_added.end(),
                                      [&](const auto& a) { return text.substr(at, a.first.size()) == a.first; });
        if (hit == m_added.end()) {
            ++at;
            continue;
        }
        encode_piece(text.substr(start, at - start));
        ids.push_back(hit->second);
        at += hit->first.size();
        start = at;
    }
    encode_piece(text.substr(start));
    return ids;
}

std::string HfTokenizer::token_bytes(int32_t id, bool first) const {
    if (id < 0 || id >= n_vocab() || m_special.count(id))
        return {};
    const std::string& p = m_pieces[static_cast<size_t>(id)];
    std::string text;
    if (m_decoding.byte_fallback && p.size() == 6 && p.starts_with("<0x") && p.back() == '>' &&
        m_byte_ids[static_cast<size_t>(std::strtol(p.substr(3, 2).c_str(), nullptr, 16))] == id) {
        text = std::string(1, static_cast<char>(std::strtol(p.substr(3, 2).c_str(), nullptr, 16)));
    } else if (m_decoding.byte_level) {
        for (const std::string_view c : characters(p)) {
            const auto it = m_char_bytes.find(std::string(c));
            text += it != m_char_bytes.end() ? std::string(1, static_cast<char>(it->second)) : std::string(c);
        }
    } else {
        text = m_decoding.metaspace ? replace_all(p, kMetaspace, " ") : p;
    }
    for (int n = 0; first && n < m_decoding.strip_leading && !text.empty() && text.front() == ' '; ++n)
        text.erase(0, 1);
    return text;
}

// The BOS or EOS token: tokenizer_config.json's (a string or {"content": ...}), else config.json's id.
int32_t special_id(const HfTokenizer& t, const json& tokenizer_config, const json& config, const char* name) {
    if (tokenizer_config.contains(name)) {
        const json& v = tokenizer_config[name];
        const std::string content = v.is_string()   ? v.get<std::string>()
                                    : v.is_object() ? v.value("content", std::string())
                                                    : std::string();
        if (const int32_t id = t.id_of(content); id >= 0)
            return id;
    }
    const std::string key = std::string(name) + "_id";
    const json& v = config.contains(key) && config[key].is_array() && !config[key].empty() ? config[key].front()
                    : config.contains(key)                                                 ? config[key]
                                                                                           : json();
    if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < t.n_vocab())
        return static_cast<int32_t>(v.get<int64_t>());
    return -1;
}

json read_json(const std::filesystem::path& path, bool required) {
    std::ifstream in(path);
    if (!in) {
        if (required)
            throw ModelError(path.string() + ": cannot be read");
        return json::object();
    }
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        throw ModelError(path.string() + ": not valid JSON (" + e.what() + ")");
    }
}

void set_special_tokens(HfTokenizer& tokenizer, const json& j, const std::filesystem::path& path) {
    HfTokenizer* t = &tokenizer;
    const auto dir = path.parent_path();
    const json tokenizer_config = read_json(dir / "tokenizer_config.json", false);
    const json config = read_json(dir / "config.json", false);
    t->bos = special_id(*t, tokenizer_config, config, "bos_token");
    // BOS goes first when the configuration says so, or when the post-processor's template starts
    // with a special token (Llama 3), as the tokenizers library adds it.
    const json& post = j.value("post_processor", json());
    const bool template_bos = post.is_object() && post.value("type", "") == "TemplateProcessing" &&
                              !post.value("single", json::array()).empty() &&
                              post["single"][0].contains("SpecialToken");
    t->add_bos = t->bos >= 0 && tokenizer_config.value("add_bos_token", template_bos);
    t->eos = special_id(*t, tokenizer_config, config, "eos_token");
}

std::unique_ptr<HfTokenizer> parse_hf_tokenizer(const json& j, const std::string& source) {
    try {
        return std::make_unique<HfTokenizer>(j, source);
    } catch (const json::exception& e) {
        throw ModelError(source + ": not a tokenizer.json the way the tokenizers library writes it (" + e.what() + ")");
    }
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> hf_tokenizer_from_json(std::string_view json_text, const std::string& source) {
    json j;
    try {
        j = json::parse(json_text);
    } catch (const json::exception& e) {
        throw ModelError(source + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object())
        throw ModelError(source + ": not a tokenizer.json (not a JSON object)");
    return parse_hf_tokenizer(j, source);
}

std::unique_ptr<Tokenizer::Impl> load_hf_tokenizer(const std::filesystem::path& path) {
    const json j = read_json(path, true);
    const std::string source = path.string();
    if (!j.is_object())
        throw ModelError(source + ": not a tokenizer.json (not a JSON object)");
    std::unique_ptr<HfTokenizer> t = parse_hf_tokenizer(j, source);
    try {
        set_special_tokens(*t, j, path);
    } catch (const json::exception& e) {
        throw ModelError(source + ": its BOS and EOS cannot be read from tokenizer_config.json or config.json (" +
                         e.what() + ")");
    }
    return t;
}

}  // namespace uio::model
