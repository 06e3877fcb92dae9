// Hugging Face tokenizer.json BPE, both families, on files written here with encodings worked out
// by hand from the library's rules: merges by rank (not leftmost first), byte fallback for
// characters and for bytes that are not UTF-8, fused unknowns, added tokens cut out before
// normalization, GPT-2's byte-to-character map, a Split pattern with Unicode classes, BOS from the
// configuration or the post-processor; round trips; kinds it does not read are refused by name.
// With ../shared present, the TinyStories-656K tokenizer.json round-trips a story.

#include "uio/model/error.h"
#include "uio/model/tokenizer.h"

#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace uio::model;
using json = nlohmann::json;

namespace {

const std::string kMeta = "\xE2\x96\x81";  // "▁"

// GPT-2's byte-to-character map, written out from its rule: printable bytes stand for themselves.
std::string byteChar(int b) {
    const bool prints = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    int code = b;
    if (!prints) {
        code = 256;
        for (int c = 0; c < b; ++c) {
            const bool p = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
            code += p ? 0 : 1;
        }
    }
    std::string out;
    if (code < 0x80) {
        out.push_back(static_cast<char>(code));
    } else {
        out.push_back(static_cast<char>(0xC0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
    return out;
}

void write(const std::filesystem::path& path, const json& j) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << j.dump(1);
}

}  // namespace

class TestHfTokenizer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void sentencePieceStyleMergesByRank();
    void bytesAndUnknowns();
    void byteLevelLikeGpt2();
    void splitPatternWithUnicodeClasses();
    void otherKindsAreRefused_data();
    void otherKindsAreRefused();
    void tinyStoriesTokenizerRoundTrips();

private:
    std::filesystem::path spmStyle(const std::string& name, bool byte_fallback);
    std::filesystem::path byteLevel(const std::string& name, const json& pre_tokenizer, const json& post_processor);
    int32_t id(const Tokenizer& t, const std::string& piece) {
        for (int32_t i = 0; i < t.n_vocab(); ++i)
            if (t.piece(i) == piece)
                return i;
        return -1;
    }

    QTemporaryDir m_dir;
};

void TestHfTokenizer::initTestCase() {
    QVERIFY(m_dir.isValid());
}

// A Llama-2 conversion in miniature: Prepend and Replace normalizers, no pre-tokenizer, byte
// fallback, and the decoders that undo them.
std::filesystem::path TestHfTokenizer::spmStyle(const std::string& name, bool byte_fallback) {
    json vocab = json::object();
    int32_t next = 0;
    for (const std::string p : {"<unk>", "<s>", "</s>"})
        vocab[p] = next++;
    if (byte_fallback) {
        for (int b = 0; b < 256; ++b) {
            char piece[8];
            std::snprintf(piece, sizeof piece, "<0x%02X>", b);
            vocab[piece] = next++;
        }
    }
    for (const std::string& p :
         std::vector<std::string>{kMeta, "a", "b", "c", "ab", kMeta + "ab", kMeta + "a", kMeta + "c"})
        vocab[p] = next++;
    json j = {
        {"version", "1.0"},
        {"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                                      {{"id", 1}, {"content", "<s>"}, {"special", true}},
                                      {{"id", 2}, {"content", "</s>"}, {"special", true}}})},
        {"normalizer",
         {{"type", "Sequence"},
          {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", kMeta}},
                                       {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}}})}}},
        {"pre_tokenizer", nullptr},
        {"post_processor", nullptr},
        {"decoder",
         {{"type", "Sequence"},
          {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", kMeta}}}, {"content", " "}},
                                    {{"type", "ByteFallback"}},
                                    {{"type", "Fuse"}},
                                    {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
        {"model",
         {{"type", "BPE"},
          {"unk_token", "<unk>"},
          {"fuse_unk", true},
          {"byte_fallback", byte_fallback},
          {"vocab", vocab},
          // Ranked: "a b" before "▁ ab" before "▁ a", so "▁ab" wins although "▁ a" is leftmost.
          {"merges", json::array({"a b", kMeta + " ab", kMeta + " a", kMeta + " c"})}}},
    };
    const auto dir = std::filesystem::path(m_dir.path().toStdString()) / name;
    write(dir / "tokenizer.json", j);
    write(dir / "tokenizer_config.json", {{"add_bos_token", true}, {"bos_token", "<s>"}, {"eos_token", "</s>"}});
    return dir / "tokenizer.json";
}

void TestHfTokenizer::sentencePieceStyleMergesByRank() {
    const Tokenizer t = Tokenizer::load(spmStyle("spm", true));
    QCOMPARE(t.bos_id(), 1);
    QCOMPARE(t.eos_id(), 2);
    // "ab c" -> "▁ab▁c" -> ▁ a b ▁ c; a+b (rank 0), ▁+ab (1), ▁+c (3): ▁ab ▁c.
    QCOMPARE(t.encode("ab c"), (std::vector<int32_t>{1, id(t, kMeta + "ab"), id(t, kMeta + "c")}));
    // Merges use ids, so two tokens always; "ba" has no merge.
    QCOMPARE(t.encode("ba", false), (std::vector<int32_t>{id(t, kMeta), id(t, "b"), id(t, "a")}));
    // An added token is cut out before normalization; the text after it is prepended again.
    QCOMPARE(t.encode("a</s>c", false), (std::vector<int32_t>{id(t, kMeta + "a"), 2, id(t, kMeta + "c")}));
    QCOMPARE(t.decode(t.encode("ab c")), std::string("ab c"));
    QVERIFY(t.is_control(1));
    QCOMPARE(t.token_bytes(id(t, kMeta + "ab"), true), std::string("ab"));  // the prefix space stripped
    QCOMPARE(t.token_bytes(id(t, kMeta + "ab"), false), std::string(" ab"));
}

void TestHfTokenizer::bytesAndUnknowns() {
    const Tokenizer t = Tokenizer::load(spmStyle("bytes", true));
    // "é" is not a piece: its two UTF-8 bytes.
    QCOMPARE(t.encode("é", false), (std::vector<int32_t>{id(t, kMeta), id(t, "<0xC3>"), id(t, "<0xA9>")}));
    // A byte that is not UTF-8 at all goes through as itself and comes back.
    const std::string broken =
        "a\xFF"
        "b";
    const auto ids = t.encode(broken, false);
    QCOMPARE(ids, (std::vector<int32_t>{id(t, kMeta + "a"), id(t, "<0xFF>"), id(t, "b")}));
    QCOMPARE(t.decode(ids), broken);
    QCOMPARE(t.decode(t.encode("cab é ab", false)), std::string("cab é ab"));

    // Without byte fallback: unknown characters are the unknown token, consecutive ones fused.
    const Tokenizer u = Tokenizer::load(spmStyle("unknown", false));
    QCOMPARE(u.encode("aéé", false), (std::vector<int32_t>{id(u, kMeta + "a"), 0}));
}

// GPT-2's kind: bytes mapped to characters, its pre-tokenizer pattern, the ByteLevel decoder.
std::filesystem::path TestHfTokenizer::byteLevel(const std::string& name, const json& pre_tokenizer,
                                                 const json& post_processor) {
    json vocab = json::object();
    for (int b = 0; b < 256; ++b)
        vocab[byteChar(b)] = b;
    const std::string G = byteChar(' ');  // "Ġ"
    vocab[G + "t"] = 256;
    vocab["he"] = 257;
    vocab[G + "the"] = 258;
    json j = {
        {"added_tokens", json::array({{{"id", 259}, {"content", "<|endoftext|>"}, {"special", true}}})},
        {"normalizer", nullptr},
        {"pre_tokenizer", pre_tokenizer},
        {"post_processor", post_processor},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model",
         {{"type", "BPE"},
          {"vocab", vocab},
          {"ignore_merges", false},
          {"merges", json::array({json::array({G, "t"}), json::array({"h", "e"}), json::array({G + "t", "he"})})}}},
    };
    const auto dir = std::filesystem::path(m_dir.path().toStdString()) / name;
    write(dir / "tokenizer.json", j);
    write(dir / "config.json", {{"bos_token_id", 259}, {"eos_token_id", 259}});
    return dir / "tokenizer.json";
}

void TestHfTokenizer::byteLevelLikeGpt2() {
    const Tokenizer t = Tokenizer::load(
        byteLevel("gpt2", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}, nullptr));
    QCOMPARE(t.bos_id(), 259);
    // No template and no add_bos_token: nothing is put first.
    // "the the" -> "the", " the" -> t he | Ġthe (Ġ+t, h+e, then Ġt+he).
    const std::string G = byteChar(' ');
    QCOMPARE(t.encode("the the"), (std::vector<int32_t>{'t', 257, 258}));
    // The pattern keeps "'s" apart and "  " before a word as one run of spaces and a " word".
    const auto ids = t.encode("it's  é\n");
    QCOMPARE(t.decode(ids), std::string("it's  é\n"));
    QCOMPARE(ids.size(), std::string("it's  é\n").size());  // no merges apply: one id per byte
    QCOMPARE(t.encode("<|endoftext|>the"), (std::vector<int32_t>{259, 't', 257}));
    QCOMPARE(t.token_bytes(258, true), std::string(" the"));  // byte-level keeps its spaces
}

void TestHfTokenizer::splitPatternWithUnicodeClasses() {
    // Llama 3's arrangement: a Split with its own pattern, then ByteLevel without one; the
    // template puts BOS first.
    const json pre = {
        {"type", "Sequence"},
        {"pretokenizers", json::array({{{"type", "Split"},
                                        {"pattern", {{"Regex", R"(\p{N}{1,3}| ?\p{L}+|\s+)"}}},
                                        {"behavior", "Isolated"},
                                        {"invert", false}},
                                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
    const json post = {{"type", "TemplateProcessing"},
                       {"single", json::array({{{"SpecialToken", {{"id", "<|endoftext|>"}, {"type_id", 0}}}},
                                               {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
    const Tokenizer t = Tokenizer::load(byteLevel("split", pre, post));
    // Arabic-Indic digits are \p{N}: three and one, each digit two bytes; then " the" merges.
    const std::string digits = "\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4";  // ١٢٣٤
    const auto ids = t.encode(digits + " the");
    QCOMPARE(ids.front(), 259);  // BOS from the template
    QCOMPARE(ids.size(), size_t(1 + 8 + 1));
    QCOMPARE(ids.back(), 258);
    QCOMPARE(t.decode(ids), digits + " the");
}

void TestHfTokenizer::otherKindsAreRefused_data() {
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("named");
    QTest::newRow("wordpiece") << QStringLiteral(R"({"model": {"type": "WordPiece"}})") << QStringLiteral("WordPiece");
    QTest::newRow("unigram") << QStringLiteral(R"({"model": {"type": "Unigram"}})") << QStringLiteral("Unigram");
    QTest::newRow("nfkc") << QStringLiteral(R"({"normalizer": {"type": "NFKC"}})") << QStringLiteral("NFKC");
    QTest::newRow("digits") << QStringLiteral(R"({"pre_tokenizer": {"type": "Digits"}})") << QStringLiteral("Digits");
    QTest::newRow("not json") << QStringLiteral("{") << QStringLiteral("JSON");
}

void TestHfTokenizer::otherKindsAreRefused() {
    QFETCH(QString, change);
    QFETCH(QString, named);
    const auto path = spmStyle("refused-" + named.toStdString(), true);
    if (change == QLatin1String("{")) {
        std::ofstream(path) << "{";
    } else {
        json j = json::parse(std::ifstream(path));
        j.merge_patch(json::parse(change.toStdString()));
        std::ofstream(path) << j.dump();
    }
    try {
        Tokenizer::load(path);
        QFAIL("loaded");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(named), e.what());
        QVERIFY2(QString::fromUtf8(e.what()).contains(QString::fromStdString(path.string())), e.what());
    }
}

void TestHfTokenizer::tinyStoriesTokenizerRoundTrips() {
    const std::filesystem::path shared = std::filesystem::path(UIO_SOURCE_DIR) / "../shared/models/tinystories-656k";
    if (!std::filesystem::exists(shared / "tokenizer.json"))
        QSKIP("../shared/models/tinystories-656k is not here");
    QCOMPARE(Tokenizer::find_in(shared), shared / "tokenizer.json");
    const Tokenizer t = Tokenizer::load(shared / "tokenizer.json");
    QCOMPARE(t.n_vocab(), 2048);
    QCOMPARE(t.piece(t.bos_id()), std::string("<|start_story|>"));
    const std::string story = "Once upon a time, there was a little girl named Lily. She loved to play outside.\n";
    const auto ids = t.encode(story);
    QCOMPARE(ids.front(), t.bos_id());
    QVERIFY2(ids.size() < story.size() / 2, qPrintable(QString::number(ids.size())));  // merges did their work
    QCOMPARE(t.decode(ids), story);
}

QTEST_APPLESS_MAIN(TestHfTokenizer)
#include "test_hf_tokenizer.moc"
