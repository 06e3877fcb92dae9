#include "uio/model/tokenizer.h"

#include "sentencepiece_model.h"
#include "tokenizer_impl.h"
#include "uio/model/error.h"
#include "utf8.h"

#include <queue>

#include <cctype>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace uio::model {

namespace {

// Length of the longest prefix of `s` made of complete UTF-8 characters.
size_t complete_utf8_prefix(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const size_t n = utf8_length(static_cast<unsigned char>(s[i]));
        if (i + n > s.size()) {
            break;
        }
        i += n;
    }
    return i;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(text.size());
    size_t start = 0;
    for (size_t pos; (pos = text.find(from, start)) != std::string_view::npos; start = pos + from.size()) {
        out.append(text.substr(start, pos - start)).append(to);
    }
    out.append(text.substr(start));
    return out;
}

}  // namespace

struct SpmTokenizer final : Tokenizer::Impl {
    SpmModel model;
    std::unordered_map<std::string, int32_t> normal;  // mergeable pieces (NORMAL, USER_DEFINED)
    std::vector<std::string> user_defined;            // matched whole before merging
    int32_t byte_ids[256] = {};

    std::string normalize(std::string_view text) const {
        std::string s(text);
        if (model.remove_extra_whitespaces) {
            std::string collapsed;
            bool space = true;  // drops leading spaces
            for (const char c : s) {
                if (c == ' ') {
                    if (!space)
                        collapsed.push_back(' ');
                    space = true;
                } else {
                    collapsed.push_back(c);
                    space = false;
                }
            }
            while (!collapsed.empty() && collapsed.back() == ' ')
                collapsed.pop_back();
            s = std::move(collapsed);
        }
        if (s.empty()) {
            return s;
        }
        if (model.add_dummy_prefix) {
            s.insert(s.begin(), ' ');
        }
        return model.escape_whitespaces ? replace_all(s, " ", kSpaceSymbol) : s;
    }

    // The initial symbols: user-defined pieces where they match, single UTF-8 characters elsewhere.
    std::vector<std::string_view> split(std::string_view s) const {
        std::vector<std::string_view> symbols;
        size_t i = 0;
        while (i < s.size()) {
            size_t n = 0;
            for (const std::string& u : user_defined) {
                if (u.size() > n && s.substr(i, u.size()) == u)
                    n = u.size();
            }
            if (n == 0)
                n = std::min(utf8_length(static_cast<unsigned char>(s[i])), s.size() - i);
            symbols.push_back(s.substr(i, n));
            i += n;
        }
        return symbols;
    }

    std::vector<int32_t> encode(std::string_view text) const override;
    std::string token_bytes(int32_t id, bool first) const override;
    int32_t n_vocab() const override;
    const std::string& piece(int32_t id) const override;
    bool is_control(int32_t id) const override;
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

std::filesystem::path Tokenizer::find_in(const std::filesystem::path& model_dir) {
    for (const char* name : {"tokenizer.model", "tokenizer.json"})
        if (std::filesystem::exists(model_dir / name))
            return model_dir / name;
    return {};
}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
    if (path.filename() == "tokenizer.json" || path.extension() == ".json")
        return Tokenizer(load_hf_tokenizer(path));
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ModelError(path.string() + ": cannot be read (the model folder needs tokenizer.model or tokenizer.json)");
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    return from_model(SpmModel::parse(bytes.str(), path.string()), path.string());
}

Tokenizer Tokenizer::from_model(const SpmModel& model, const std::string& source) {
    if (model.pieces.empty()) {
        throw ModelError(source + ": the tokenizer has no pieces");
    }
    if (model.model_type != SpmModel::Bpe) {
        throw ModelError(source + ": a SentencePiece model of type " + std::to_string(model.model_type) +
                         "; UIO Desk reads BPE models, as Llama uses");
    }
    if (!model.normalizer_name.empty() && model.normalizer_name != "identity") {
        throw ModelError(source + ": normalization \"" + model.normalizer_name +
                         "\" is not supported (Llama tokenizers use \"identity\")");
    }
    const auto n = static_cast<int32_t>(model.pieces.size());
    for (const int32_t id : {model.unk_id, model.bos_id, model.eos_id}) {
        if (id < 0 || id >= n) {
            throw ModelError(source + ": special token id " + std::to_string(id) + " is outside the " +
                             std::to_string(n) + " pieces");
        }
    }
    auto impl = std::make_unique<SpmTokenizer>();
    impl->model = model;
    impl->bos = model.bos_id;
    impl->eos = model.eos_id;
    impl->unk = model.unk_id;
    std::fill(std::begin(impl->byte_ids), std::end(impl->byte_ids), -1);
    for (int32_t id = 0; id < n; ++id) {
        const SpmPiece& p = model.pieces[id];
        if (p.type == SpmPiece::Normal || p.type == SpmPiece::UserDefined) {
            impl->normal.emplace(p.piece, id);
        }
        if (p.type == SpmPiece::UserDefined) {
            impl->user_defined.push_back(p.piece);
        }
        // "<0xAB>": exactly two hex digits (sscanf's %X would take a sign, and index out of range).
        const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
        if (p.type == SpmPiece::Byte && p.piece.size() == 6 && p.piece.compare(0, 3, "<0x") == 0 && hex(p.piece[3]) &&
            hex(p.piece[4]) && p.piece[5] == '>') {
            impl->byte_ids[std::stoi(p.piece.substr(3, 2), nullptr, 16)] = id;
        }
    }
    if (model.byte_fallback) {
        for (int b = 0; b < 256; ++b) {
            if (impl->byte_ids[b] < 0) {
                throw ModelError(source + ": byte_fallback is on but the byte piece for " + std::to_string(b) +
                                 " is missing");
            }
        }
    }
    return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos) const {
    std::vector<int32_t> ids;
    if (add_bos && m_impl->add_bos && m_impl->bos >= 0)
        ids.push_back(m_impl->bos);
    const std::vector<int32_t> rest = m_impl->encode(text);
    ids.insert(ids.end(), rest.begin(), rest.end());
    return ids;
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text) const {
    const SpmTokenizer& d = *this;
    std::vector<int32_t> ids;
    const std::string normalized = d.normalize(text);
    if (normalized.empty()) {
        return ids;
    }

    // Symbols form a doubly linked list over `normalized`; merging joins a symbol with its right
    // neighbour. Candidate pairs wait in a heap ordered by piece score, then by leftmost position.
    struct Symbol {
        int prev, next;
        std::string_view text;
    };
    std::vector<Symbol> symbols;
    for (const std::string_view s : d.split(normalized)) {
        const int i = static_cast<int>(symbols.size());
        symbols.push_back({i - 1, i + 1, s});
    }
    symbols.back().next = -1;

    struct Candidate {
        float score;
        int left, right;
        size_t size;  // text size when queued; stale if the symbols changed since
        bool operator<(const Candidate& o) const { return score < o.score || (score == o.score && left > o.left); }
    };
    std::priority_queue<Candidate> agenda;
    auto consider = [&](int left, int right) {
        if (left < 0 || right < 0)
            return;
        const std::string_view joined(symbols[left].text.data(),
                                      symbols[left].text.size() + symbols[right].text.size());
        const auto it = d.normal.find(std::string(joined));
        if (it != d.normal.end()) {
            agenda.push({d.model.pieces[it->second].score, left, right, joined.size()});
        }
    };
    for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) {
        consider(i, i + 1);
    }
    while (!agenda.empty()) {
        const Candidate top = agenda.top();
        agenda.pop();
        Symbol& left = symbols[top.left];
        Symbol& right = symbols[top.right];
        if (left.text.empty() || right.text.empty() || left.next != top.right ||
            left.text.size() + right.text.size() != top.size) {
            continue;  // one side was merged into something else meanwhile
        }
        left.text = std::string_view(left.text.data(), top.size);
        left.next = right.next;
        if (right.next >= 0)
            symbols[right.next].prev = top.left;
        right.text = {};
        consider(left.prev, top.left);
        consider(top.left, left.next);
    }

    for (int i = 0; i >= 0; i = symbols[i].next) {
        const std::string_view s = symbols[i].text;
        const auto it = d.normal.find(std::string(s));
        if (it != d.normal.end()) {
            ids.push_back(it->second);
        } else if (d.model.byte_fallback) {
            for (const char c : s)
                ids.push_back(d.byte_ids[static_cast<unsigned char>(c)]);
        } else {
            ids.push_back(d.model.unk_id);
        }
    }
    return ids;
}

std::string Tokenizer::token_bytes(int32_t id, bool first) const {
    return m_impl->token_bytes(id, first);
}

std::string SpmTokenizer::token_bytes(int32_t id, bool first) const {
    const SpmTokenizer& d = *this;
    if (id < 0 || id >= n_vocab()) {
        return {};
    }
    const SpmPiece& p = d.model.pieces[id];
    switch (p.type) {
        case SpmPiece::Control:
        case SpmPiece::Unused:
            return {};
        case SpmPiece::Unknown:
            return " \xE2\x81\x87 ";  // " ⁇ ", as sentencepiece shows it
        case SpmPiece::Byte:
            for (int b = 0; b < 256; ++b) {
                if (d.byte_ids[b] == id)
                    return std::string(1, static_cast<char>(b));
            }
            return {};
        default:
            break;
    }
    std::string text = d.model.escape_whitespaces ? replace_all(p.piece, kSpaceSymbol, " ") : p.piece;
    if (first && d.model.add_dummy_prefix && !text.empty() && text.front() == ' ') {
        text.erase(0, 1);
    }
    return text;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
    StreamDecoder stream(*this);
    std::string text;
    for (const int32_t id : ids) {
        text += stream.push(id);
    }
    return text + stream.flush();
}

int32_t Tokenizer::n_vocab() const {
    return m_impl->n_vocab();
}
int32_t Tokenizer::bos_id() const {
    return m_impl->bos;
}
int32_t Tokenizer::eos_id() const {
    return m_impl->eos;
}
int32_t Tokenizer::unk_id() const {
    return m_impl->unk;
}
const std::string& Tokenizer::piece(int32_t id) const {
    return m_impl->piece(id);
}
bool Tokenizer::is_control(int32_t id) const {
    return m_impl->is_control(id);
}

int32_t SpmTokenizer::n_vocab() const {
    return static_cast<int32_t>(model.pieces.size());
}

const std::string& SpmTokenizer::piece(int32_t id) const {
    static const std::string kOutOfRange = "<out of vocabulary>";
    return id >= 0 && id < n_vocab() ? model.pieces[id].piece : kOutOfRange;
}

bool SpmTokenizer::is_control(int32_t id) const {
    return id >= 0 && id < n_vocab() && model.pieces[id].type == SpmPiece::Control;
}

std::string StreamDecoder::push(int32_t id) {
    m_pending += m_tokenizer.token_bytes(id, m_first);
    if (!m_tokenizer.is_control(id)) {
        m_first = false;  // only the first piece after the control tokens carries the dummy prefix
    }
    const size_t n = complete_utf8_prefix(m_pending);
    std::string ready = m_pending.substr(0, n);
    m_pending.erase(0, n);
    return ready;
}

std::string StreamDecoder::flush() {
    return std::exchange(m_pending, {});
}

}  // namespace uio::model
