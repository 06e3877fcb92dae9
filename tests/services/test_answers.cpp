// Every question gets an answer: the window plan keeps to its budget and to document order for any
// size of question, history, passage budget and library; a sentence on page 137 of a long
// document, or in the 17th of 30 documents, reaches the model (as memory and verbatim) and the
// sources; an untrained adapter answers from passages only. A real tiny model, a real library file.
#include "uio/model/model_maker.h"
#include "uio/model/synthetic_text.h"
#include "uio/services/chatservice.h"
#include "uio/services/compressor.h"
#include "uio/services/windowplan.h"
#include "uio/storage/chats.h"
#include "uio/storage/documents.h"
#include "uio/storage/library.h"
#include "uio/storage/passages.h"

#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>
#include <set>

using namespace uio;

namespace {

const std::string kNeedle = "The lighthouse keeper Zebulon Quarrington hid the brass key under the blue stone.";
const std::string kQuestion = "Where did Zebulon Quarrington hide the brass key?";

// A paged document of synthetic prose: `pages` pages, the needle alone in a paragraph on `needle_page`.
storage::NewDocument pagedDocument(uint64_t seed, int pages, size_t words_per_page, int needle_page,
                                   const std::string& title) {
    storage::NewDocument d;
    nlohmann::json map = nlohmann::json::array();
    for (int page = 1; page <= pages; ++page) {
        const auto begin = static_cast<int64_t>(d.text.size());
        std::string text = model::synthetic_text(seed * 1000 + static_cast<uint64_t>(page), words_per_page, 3000);
        if (page == needle_page)
            text.insert(text.size() / 2, "\n\n" + kNeedle + "\n\n");
        d.text += text + "\n\n";
        map.push_back({page, begin, static_cast<int64_t>(d.text.size())});
    }
    d.page_map_json = map.dump();
    d.page_count = pages;
    d.title = title;
    d.format = "pdf";
    d.sha256 =
        QCryptographicHash::hash(QByteArray::fromStdString(d.text), QCryptographicHash::Sha256).toHex().toStdString();
    return d;
}

}  // namespace

class TestAnswers : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void planKeepsItsBudgetAndOrder_data();
    void planKeepsItsBudgetAndOrder();
    void planPrefersRelevantSegments();
    void longDocumentIsAnsweredFromPage137();
    void seventeenthOfThirtyDocuments();
    void untrainedAdapterAnswersFromPassages();

private:
    // Asks in a new chat over `documents`; checks the answer's window against the model's positions.
    services::Answer ask(const std::vector<int64_t>& documents, bool memories, const std::string& question = kQuestion);

    QTemporaryDir m_dir;
    std::unique_ptr<model::Engine> m_engine;
    std::unique_ptr<storage::Library> m_library;
};

void TestAnswers::initTestCase() {
    QVERIFY(m_dir.isValid());
    const std::string model_dir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    model::make_model(model_dir, {"tiny", 2, model::DType::F32, 0});
    m_engine = model::Engine::load(model_dir);
    m_engine->create_adapter({256, 8, 4, 8.0}, 1);  // 32x: 2048 positions hold 255 segments at most
    m_library = std::make_unique<storage::Library>(m_dir.filePath(QStringLiteral("lib.sqlite3")).toStdString());
}

void TestAnswers::planKeepsItsBudgetAndOrder_data() {
    QTest::addColumn<int>("documents");
    QTest::addColumn<int>("segments");      // per document
    QTest::addColumn<int>("conversation");  // question and kept history
    QTest::addColumn<int>("passages");
    QTest::addColumn<int>("hits");
    for (const int documents : {1, 3, 30})
        for (const int segments : {0, 5, 120, 3404})
            for (const int conversation : {20, 900})
                for (const int passages : {0, 1024})
                    for (const int hits : {0, 7, 200})
                        QTest::addRow("d%d s%d c%d p%d h%d", documents, segments, conversation, passages, hits)
                            << documents << segments << conversation << passages << hits;
}

void TestAnswers::planKeepsItsBudgetAndOrder() {
    QFETCH(int, documents);
    QFETCH(int, segments);
    QFETCH(int, conversation);
    QFETCH(int, passages);
    QFETCH(int, hits);
    QRandomGenerator random(static_cast<quint32>(documents * 7919 + segments * 31 + hits));
    std::vector<services::DocumentOutline> outlines(static_cast<size_t>(documents));
    int64_t stored = 0;
    for (auto& o : outlines) {
        for (int s = 0; s < segments; ++s)
            if (random.bounded(10) != 0)  // some still being compressed
                o.stored.push_back(s);
        o.tail_tokens = random.bounded(1024);
        stored += static_cast<int64_t>(o.stored.size());
    }
    std::vector<services::SegmentScore> relevance;
    for (int h = 0; h < hits && segments > 0; ++h) {
        relevance.push_back({{static_cast<size_t>(random.bounded(documents)), random.bounded(segments + 2) - 1},
                             random.bounded(1.0) * 10});
    }
    const services::WindowBudget budget{4096, conversation, 512, passages, 32};
    const services::MemoryPlan plan = services::plan_memories(outlines, budget, relevance);

    QVERIFY2(
        plan.positions() <= budget.memory_room(),
        qPrintable(QStringLiteral("%1 positions of memory, room %2").arg(plan.positions()).arg(budget.memory_room())));
    std::set<std::pair<size_t, int64_t>> seen;
    for (size_t i = 0; i < plan.segments.size(); ++i) {
        const auto& s = plan.segments[i];
        QVERIFY(s.document < outlines.size());
        const auto& o = outlines[s.document].stored;
        QVERIFY2(std::binary_search(o.begin(), o.end(), s.segment), "a segment that is not stored");
        QVERIFY2(seen.insert({s.document, s.segment}).second, "a segment twice");
        if (i > 0) {
            const auto& p = plan.segments[i - 1];
            QVERIFY2(p.document < s.document || (p.document == s.document && p.segment < s.segment),
                     "memories out of document order");
        }
    }
    // Either everything, or as many segments as the room holds.
    const int64_t capacity = budget.memory_room() / budget.memory_tokens;
    if (plan.all) {
        QCOMPARE(static_cast<int64_t>(plan.segments.size()), stored);
    } else {
        QCOMPARE(static_cast<int64_t>(plan.segments.size()), std::min(stored, capacity));
    }
}

void TestAnswers::planPrefersRelevantSegments() {
    services::DocumentOutline book;
    for (int s = 0; s < 3404; ++s)
        book.stored.push_back(s);
    const services::WindowBudget budget{4096, 100, 512, 1024, 32};  // room for 76 segments
    const auto plan = services::plan_memories({book}, budget, {{{0, 2000}, 5.0}, {{0, 17}, 2.0}});
    QVERIFY(!plan.all);
    QCOMPARE(plan.segments.size(), size_t(76));
    auto chosen = [&](int64_t s) {
        return std::find(plan.segments.begin(), plan.segments.end(), services::SegmentRef{0, s}) != plan.segments.end();
    };
    for (const int64_t s :
         {int64_t(0), int64_t(16), int64_t(17), int64_t(18), int64_t(1999), int64_t(2000), int64_t(2001)})
        QVERIFY2(chosen(s), qPrintable(QStringLiteral("segment %1 was left out").arg(s)));
    // The rest spread over the book: the largest gap between chosen segments is well under a tenth.
    int64_t gap = 0;
    for (size_t i = 1; i < plan.segments.size(); ++i)
        gap = std::max(gap, plan.segments[i].segment - plan.segments[i - 1].segment);
    QVERIFY2(gap < 340, qPrintable(QString::number(gap)));
}

services::Answer TestAnswers::ask(const std::vector<int64_t>& documents, bool memories, const std::string& question) {
    const int64_t chat = storage::Chats(m_library->db()).create("needle", documents);
    services::Compressor compressor(*m_engine, m_library->db(), 8);
    services::ChatService service(*m_engine, m_library->db(), compressor);
    services::AskOptions options;
    options.max_new_tokens = 8;
    options.ignore_eos = true;
    options.untrained_memories = memories;
    services::Answer answer = service.ask(chat, question, options);
    // Never over the model's positions: memories, what follows them, and the answer's room.
    const int64_t m = m_engine->adapter_info().config.memory_tokens;
    const auto prompt = static_cast<int64_t>(m_engine->tokenizer().encode(answer.prompt_text, false).size());
    const int64_t used = static_cast<int64_t>(answer.memories.size()) * m + prompt + options.max_new_tokens;
    qInfo("%zu memories, %zu passages, %lld of %lld positions; %s", answer.memories.size(), answer.passages.size(),
          static_cast<long long>(used), static_cast<long long>(m_engine->config().n_ctx()),
          qPrintable(answer.notices.value(0)));
    if (used > m_engine->config().n_ctx())
        qFatal("the window holds %lld positions", static_cast<long long>(used));
    return answer;
}

// The needle's segment among the memories, its page among the passages and the sources.
static void checkNeedle(const services::Answer& answer, storage::Database& db, services::Compressor& compressor,
                        int64_t document, bool memories) {
    const auto text = storage::Documents(db).text(document)->text;
    const auto at = static_cast<int64_t>(text.find(kNeedle));
    const auto outline = compressor.outline(document);
    const int64_t segment = std::upper_bound(outline.segment_offsets.begin(), outline.segment_offsets.end(), at) -
                            outline.segment_offsets.begin() - 1;
    const bool has_memory = std::any_of(answer.memories.begin(), answer.memories.end(), [&](const auto& s) {
        return s.document_id == document && s.segment == segment;
    });
    QCOMPARE(has_memory, memories);
    QVERIFY(!answer.passages.empty());
    QCOMPARE(answer.passages.front().document_id, document);
    QCOMPARE(answer.passages.front().page_first, std::optional<int64_t>(137));
    QVERIFY2(answer.prompt_text.find("Zebulon Quarrington hid the brass key") != std::string::npos,
             answer.prompt_text.c_str());
    const auto sources = nlohmann::json::parse(answer.sources_json);
    bool cited = false;
    for (const auto& s : sources)
        cited |= s["kind"] == "passage" && s["document_id"] == document && s["page"] == 137 &&
                 s["text"].get<std::string>().find("Quarrington") != std::string::npos;
    QVERIFY2(cited, answer.sources_json.c_str());
}

void TestAnswers::longDocumentIsAnsweredFromPage137() {
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(pagedDocument(1, 250, 250, 137, "Long book")).id;
    services::Compressor compressor(*m_engine, m_library->db(), 8);
    compressor.run(doc);
    const auto outline = compressor.outline(doc);
    qInfo("%lld tokens in %lld segments", static_cast<long long>(*documents.get(doc)->token_count),
          static_cast<long long>(outline.segments_total));
    QVERIFY(*documents.get(doc)->token_count > 300000);
    const services::Answer answer = ask({doc}, true);
    QVERIFY(answer.memories.size() > 100);
    // Memories chosen, so no tail: passages and question fit one live segment, word for word.
    QVERIFY(m_engine->tokenizer().encode(answer.prompt_text, false).size() <= 256);
    QVERIFY(static_cast<int64_t>(answer.memories.size()) < outline.segments_total);
    checkNeedle(answer, m_library->db(), compressor, doc, true);
    QVERIFY2(
        answer.notices.value(0).contains(QStringLiteral("of %1 parts of Long book and").arg(outline.segments_total)),
        qPrintable(answer.notices.value(0)));
    // Stored with the message.
    const auto messages = storage::Chats(m_library->db()).messages(storage::Chats(m_library->db()).list().front().id);
    QCOMPARE(messages.back().sources_json, answer.sources_json);
}

void TestAnswers::seventeenthOfThirtyDocuments() {
    storage::Documents documents(m_library->db());
    std::vector<int64_t> ids;
    services::Compressor compressor(*m_engine, m_library->db(), 8);
    for (int d = 1; d <= 30; ++d) {
        ids.push_back(
            documents.add(pagedDocument(100 + d, 8, 250, d == 17 ? 137 % 8 + 1 : 0, "Document " + std::to_string(d)))
                .id);
        compressor.run(ids.back());
    }
    const services::Answer answer = ask(ids, true);
    QVERIFY(!answer.memories.empty());
    QCOMPARE(answer.passages.front().document_id, ids[16]);
    QVERIFY2(answer.prompt_text.find("Zebulon Quarrington hid the brass key") != std::string::npos,
             answer.prompt_text.c_str());
    // Every document has memories in front, in the chat's order.
    std::set<int64_t> covered;
    for (size_t i = 0; i < answer.memories.size(); ++i) {
        covered.insert(answer.memories[i].document_id);
        if (i > 0) {
            const auto& a = answer.memories[i - 1];
            const auto& b = answer.memories[i];
            const auto pa = std::find(ids.begin(), ids.end(), a.document_id) - ids.begin();
            const auto pb = std::find(ids.begin(), ids.end(), b.document_id) - ids.begin();
            QVERIFY(pa < pb || (pa == pb && a.segment < b.segment));
        }
    }
    QCOMPARE(covered.size(), size_t(30));
    const auto sources = nlohmann::json::parse(answer.sources_json);
    QVERIFY(std::any_of(sources.begin(), sources.end(),
                        [&](const auto& s) { return s["kind"] == "passage" && s["document_id"] == ids[16]; }));
}

void TestAnswers::untrainedAdapterAnswersFromPassages() {
    QVERIFY(!m_engine->adapter_info().origin.trained());
    storage::Documents documents(m_library->db());
    const int64_t doc = documents.add(pagedDocument(7, 150, 250, 137, "Untrained")).id;
    services::Compressor compressor(*m_engine, m_library->db(), 8);
    compressor.run(doc);
    const services::Answer answer = ask({doc}, false);
    QVERIFY(answer.memories.empty());
    // Passages and question stay in one live segment: the untrained adapter compresses none of it.
    const auto prompt = m_engine->tokenizer().encode(answer.prompt_text, false).size();
    QVERIFY2(prompt <= 256, qPrintable(QString::number(prompt)));
    // A question with nothing to look for gets the document's opening.
    const services::Answer about = ask({doc}, false, "What is this about?");
    QCOMPARE(about.passages.size(), size_t(1));
    QCOMPARE(about.passages.front().ordinal, int64_t(0));
    QVERIFY(answer.notices.join(QLatin1Char(' ')).contains(QStringLiteral("never trained")));
    checkNeedle(answer, m_library->db(), compressor, doc, false);
}

QTEST_GUILESS_MAIN(TestAnswers)
#include "test_answers.moc"
