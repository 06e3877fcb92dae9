#include "uio/services/chatservice.h"

#include "uio/model/chat_format.h"
#include "uio/services/windowplan.h"

#include <QElapsedTimer>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace uio::services {

namespace {

// Passages the question matches, read from the index; more than fit, so that the budget decides.
constexpr int kPassageHits = 40;

struct ChatDocument {
    int64_t id = 0;
    std::string title;
    Compressor::Outline outline;
};

// The segment of `outline` whose text holds byte `offset`; the tail when past the last.
int64_t segment_at(const Compressor::Outline& outline, int64_t offset) {
    const auto& o = outline.segment_offsets;
    const auto it = std::upper_bound(o.begin(), o.end(), offset);
    return std::max<int64_t>(0, static_cast<int64_t>(it - o.begin()) - 1);
}

// The passage that holds byte `offset` (the last one past the end); none for a document without.
const storage::Passage* passage_at(const std::vector<storage::Passage>& passages, int64_t offset) {
    for (const storage::Passage& p : passages) {
        if (offset < p.end)
            return &p;
    }
    return passages.empty() ? nullptr : &passages.back();
}

std::optional<int64_t> page_at(const std::vector<storage::Passage>& passages, int64_t offset) {
    const storage::Passage* p = passage_at(passages, offset);
    return p ? p->page_first : std::nullopt;
}

// "p. 12", "pp. 12-13", "§ Loomings p. 5", or "" when nothing is known.
std::string place_of(const std::string& section, std::optional<int64_t> first, std::optional<int64_t> last) {
    std::string place;
    if (!section.empty())
        place = "§ " + (section.size() > 40 ? section.substr(0, 40) + "…" : section);
    if (first) {
        place += place.empty() ? "" : " ";
        place += last && *last != *first ? "pp. " + std::to_string(*first) + "-" + std::to_string(*last)
                                         : "p. " + std::to_string(*first);
    }
    return place;
}

// Cuts a passage to about `bytes` around its first word the question has, at spaces.
std::string crop(const std::string& text, const std::string& question, size_t bytes) {
    if (text.size() <= bytes)
        return text;
    size_t hit = std::string::npos;
    std::string word;
    for (size_t i = 0; i <= question.size(); ++i) {
        const char c = i < question.size() ? question[i] : ' ';
        if (std::isalnum(static_cast<unsigned char>(c))) {
            word += c;
        } else {
            if (word.size() > 3)
                hit = std::min(hit, text.find(word));
            word.clear();
        }
    }
    size_t begin = hit == std::string::npos ? 0 : hit - std::min(hit, bytes / 3);
    begin = begin == 0 ? 0 : text.find(' ', begin) + 1;
    size_t end = std::min(text.size(), begin + bytes);
    if (end < text.size()) {
        const size_t space = text.rfind(' ', end);
        end = space != std::string::npos && space > begin ? space : end;
    }
    while (end > begin && (static_cast<unsigned char>(text[end - 1]) & 0xC0) == 0x80)
        --end;  // never half a character
    if (end > begin && static_cast<unsigned char>(text[end - 1]) >= 0xC0)
        --end;
    return (begin > 0 ? "…" : "") + text.substr(begin, end - begin) + (end < text.size() ? "…" : "");
}

}  // namespace

struct ChatService::Window {
    std::vector<ChatDocument> documents;
    MemoryPlan memories;
    std::vector<int32_t> prompt;  // after the memories: tails, passages, the conversation
    std::vector<storage::PassageHit> placed;
    std::vector<std::string> placed_text;
};

struct ChatService::Context {
    std::vector<int64_t> documents;
    std::vector<SegmentRef> segments;  // the memories in front, as chosen
    std::unique_ptr<model::MemoryChat> chat;
};

ChatService::ChatService(model::Engine& engine, storage::Database& db, Compressor& compressor)
    : m_engine(engine), m_db(db), m_compressor(compressor) {}

ChatService::~ChatService() = default;

Answer ChatService::ask(int64_t chat_id, const std::string& question, const AskOptions& options,
                        const std::function<void(const std::string&)>& on_text, const std::atomic<bool>* cancel) {
    const int64_t question_id = storage::Chats(m_db).add_message(chat_id, storage::Role::User, question);
    return answer(chat_id, question_id, question, options, on_text, cancel);
}

Answer ChatService::regenerate(int64_t chat_id, const AskOptions& options,
                               const std::function<void(const std::string&)>& on_text,
                               const std::atomic<bool>* cancel) {
    storage::Chats chats(m_db);
    auto messages = chats.messages(chat_id);
    if (!messages.empty() && messages.back().role == storage::Role::Assistant) {
        chats.delete_message(messages.back().id);
        messages.pop_back();
    }
    if (messages.empty() || messages.back().role != storage::Role::User) {
        throw std::runtime_error("there is no question to answer again in this chat");
    }
    return answer(chat_id, messages.back().id, messages.back().content, options, on_text, cancel);
}

ChatService::Window ChatService::plan(const storage::Chat& chat, const std::string& question,
                                      const std::vector<model::ChatExchange>& all_history, const AskOptions& options,
                                      Answer& result) {
    const model::Tokenizer& tokenizer = m_engine.tokenizer();
    const model::AdapterInfo adapter = m_engine.adapter_info();
    const int64_t l = adapter.config.segment_length;
    int64_t m = adapter.config.memory_tokens;
    int64_t positions = m_engine.config().n_ctx();
    Window window;
    storage::Documents documents(m_db);
    for (const int64_t id : chat.document_ids) {
        const auto document = documents.get(id);
        window.documents.push_back({id, document ? document->title : "?", m_compressor.outline(id)});
    }
    if (adapter.kind == model::CompressorKind::UltraGist) {
        // Rows per window at each document's ratio (the most of them), and one sink in front.
        m = 0;
        for (const ChatDocument& d : window.documents) {
            const int64_t tokens = d.outline.segments_total * l + static_cast<int64_t>(d.outline.tail.size());
            m = std::max(m, l / m_engine.ultragist_ratio_for(tokens));
        }
        positions -= 1;
    }

    // The conversation: oldest turns dropped first until it leaves room for the rest.
    const int64_t answer_room = std::min<int64_t>(options.max_new_tokens, l);
    std::vector<model::ChatExchange> history = all_history;
    const auto turn_of = [&] {
        if (!options.continuation)
            return model::llama2_chat_prompt(tokenizer, options.system_prompt, history, question);
        // One running text: what the user typed joins it as words (a space where none is), what
        // the model wrote carries its own spacing.
        std::string text;
        const auto type = [&text](const std::string& typed) {
            if (!text.empty() && !typed.empty() && !std::isspace(static_cast<unsigned char>(text.back())) &&
                !std::isspace(static_cast<unsigned char>(typed.front())))
                text += ' ';
            text += typed;
        };
        for (const model::ChatExchange& exchange : history) {
            type(exchange.user);
            text += exchange.assistant;
        }
        type(question);
        return tokenizer.encode(text, false);
    };
    std::vector<int32_t> turn = turn_of();
    size_t dropped = 0;
    while (static_cast<int64_t>(turn.size()) + answer_room > positions / 2 && !history.empty()) {
        history.erase(history.begin());
        ++dropped;
        turn = turn_of();
    }
    if (dropped > 0) {
        result.notices
            << QStringLiteral("The %1 oldest exchanges were left out to fit the model's context.").arg(dropped);
    }
    if (static_cast<int64_t>(turn.size()) + answer_room >= positions) {
        throw std::runtime_error("the question is too long for the model's context; shorten it");
    }

    // Memories go in only from an adapter that learnt to make them (or when the user says so).
    const bool use_memories = adapter.origin.trained() || options.untrained_memories;
    if (!use_memories) {
        result.notices << QStringLiteral(
            "This adapter was never trained, so its memories would mean nothing to the model: answering from "
            "passages of the documents only. Train it in Fine-tune, or allow untrained memories in Settings.");
    }

    // Relevance: the question's passages, and (for the memories) the last question's.
    std::vector<int64_t> ids(chat.document_ids.begin(), chat.document_ids.end());
    storage::Passages passages(m_db);
    passages.index_missing(ids);
    auto hits = passages.search(question, ids, kPassageHits);
    if (hits.empty()) {
        // Nothing to look for ("What is this about?"): the documents' openings, word for word.
        for (const int64_t id : ids) {
            if (const auto all = passages.of_document(id); !all.empty())
                hits.push_back({all.front(), 0.0, {}});
            if (hits.size() >= 3)
                break;
        }
    }
    std::vector<storage::PassageHit> context_hits;
    if (!all_history.empty())
        context_hits = passages.search(all_history.back().user, ids, kPassageHits / 2);
    std::vector<SegmentScore> relevance;
    auto score_hits = [&](const std::vector<storage::PassageHit>& found, double weight) {
        for (const storage::PassageHit& hit : found) {
            const auto at = std::find(ids.begin(), ids.end(), hit.passage.document_id) - ids.begin();
            const Compressor::Outline& outline = window.documents[static_cast<size_t>(at)].outline;
            for (int64_t s = segment_at(outline, hit.passage.begin);
                 s <= segment_at(outline, std::max(hit.passage.begin, hit.passage.end - 1)) &&
                 s < outline.segments_total;
                 ++s) {
                relevance.push_back({{static_cast<size_t>(at), s}, weight * hit.score});
            }
        }
    };
    score_hits(hits, 1.0);
    score_hits(context_hits, 0.5);

    std::vector<DocumentOutline> outlines;
    for (const ChatDocument& d : window.documents) {
        outlines.push_back({use_memories ? d.outline.stored : std::vector<int64_t>{},
                            use_memories ? static_cast<int64_t>(d.outline.tail.size()) : 0});
    }
    // Passages and the conversation share one live segment, which nothing compresses; all memories
    // with their tails first, when they fit beside them.
    const int64_t reserve = std::min(answer_room, l / 4);
    auto passage_room = [&](int64_t tails) {
        const auto share = static_cast<int64_t>(options.passage_share * static_cast<double>(positions));
        const int64_t live = l - tails % l - static_cast<int64_t>(turn.size()) - reserve;
        if (options.continuation && use_memories)
            return int64_t{0};  // the text goes on from the documents' tails, not from passages
        return std::max<int64_t>(0, use_memories ? std::min(share, live) : live);
    };
    WindowBudget budget{positions, static_cast<int64_t>(turn.size()), answer_room, 0, m};
    int64_t all_tails = 0;
    for (const DocumentOutline& o : outlines)
        all_tails += o.tail_tokens;
    budget.passages = passage_room(all_tails);
    window.memories = plan_memories(outlines, budget, relevance);
    if (!window.memories.all) {
        budget.passages = passage_room(0);
        window.memories = plan_memories(outlines, budget, relevance);
    }

    // Verbatim passages, best first, each cropped around the question's words when it is long.
    std::vector<std::string> texts;
    std::vector<std::vector<int32_t>> blocks;
    std::vector<int64_t> costs;
    const auto header_of = [&](const storage::PassageHit& hit) {
        const auto at = std::find(ids.begin(), ids.end(), hit.passage.document_id) - ids.begin();
        const std::string place = place_of(hit.passage.section, hit.passage.page_first, hit.passage.page_last);
        return "[" + window.documents[static_cast<size_t>(at)].title + (place.empty() ? "" : ", " + place) + "]\n";
    };
    const auto intro_ids = tokenizer.encode("Passages from the documents:\n\n", false);
    const int64_t available = std::max<int64_t>(0, budget.passages - static_cast<int64_t>(intro_ids.size()));
    for (const storage::PassageHit& hit : hits) {
        std::string text = passages.text(hit.passage);
        const std::string header = header_of(hit);
        auto block = tokenizer.encode(header + text + "\n\n", false);
        for (double share = 0.9; static_cast<int64_t>(block.size()) > available && share > 0.5; share -= 0.2) {
            const auto header_tokens = static_cast<int64_t>(tokenizer.encode(header, false).size()) + 2;
            if (available - header_tokens < 16)
                break;  // too little room for a useful piece
            const double bytes_per_token =
                static_cast<double>(text.size()) / static_cast<double>(std::max<size_t>(1, block.size()));
            text = crop(text, question,
                        static_cast<size_t>(share * bytes_per_token * static_cast<double>(available - header_tokens)));
            block = tokenizer.encode(header + text + "\n\n", false);
        }
        texts.push_back(std::move(text));
        blocks.push_back(std::move(block));
        costs.push_back(static_cast<int64_t>(blocks.back().size()));
    }
    const auto chosen = plan_passages(costs, available);

    if (use_memories && window.memories.all) {  // without memories the tails are passages like the rest
        for (const ChatDocument& d : window.documents)
            window.prompt.insert(window.prompt.end(), d.outline.tail.begin(), d.outline.tail.end());
    }
    if (!chosen.empty())
        window.prompt.insert(window.prompt.end(), intro_ids.begin(), intro_ids.end());
    for (const size_t i : chosen) {
        window.prompt.insert(window.prompt.end(), blocks[i].begin(), blocks[i].end());
        window.placed.push_back(hits[i]);
        window.placed_text.push_back(texts[i]);
    }
    window.prompt.insert(window.prompt.end(), turn.begin(), turn.end());
    return window;
}

model::MemoryChat& ChatService::memory_chat(const storage::Chat& chat, const Window& window) {
    if (!m_contexts.count(chat.id))
        m_contexts.clear();  // one chat's memories on the device at a time
    auto& slot = m_contexts[chat.id];
    if (slot && slot->documents == chat.document_ids && slot->segments == window.memories.segments)
        return *slot->chat;
    std::vector<model::MemoryBlob> memories;
    for (size_t d = 0; d < window.documents.size(); ++d) {
        std::vector<int64_t> indices;
        for (const SegmentRef& s : window.memories.segments)
            if (s.document == d)
                indices.push_back(s.segment);
        for (auto& blob : m_compressor.load_segments(window.documents[d].id, indices)) {
            if (blob)  // a damaged segment is left out (and compressed again by the next run)
                memories.push_back(std::move(*blob));
        }
    }
    auto context = std::make_unique<Context>();
    context->documents = chat.document_ids;
    context->segments = window.memories.segments;
    context->chat = m_engine.open_memory_chat(memories);  // projected once, kept on the device
    slot = std::move(context);
    return *slot->chat;
}

Answer ChatService::answer(int64_t chat_id, int64_t question_id, const std::string& question, const AskOptions& options,
                           const std::function<void(const std::string&)>& on_text, const std::atomic<bool>* cancel) {
    Answer result;
    result.question_id = question_id;
    storage::Chats chats(m_db);
    const auto chat = chats.get(chat_id);
    if (!chat)
        throw std::runtime_error("chat " + std::to_string(chat_id) + " does not exist");
    std::vector<model::ChatExchange> history;
    const auto messages = chats.messages(chat_id);
    for (size_t i = 0; i + 1 < messages.size(); ++i) {
        if (messages[i].id >= question_id)
            break;
        if (messages[i].role == storage::Role::User && messages[i + 1].role == storage::Role::Assistant) {
            history.push_back({messages[i].content, messages[i + 1].content});
        }
    }
    const Window window = plan(*chat, question, history, options, result);
    model::MemoryChat& memory = memory_chat(*chat, window);

    // What it was given, and the sources, before the first token.
    nlohmann::json sources = nlohmann::json::array();
    storage::Passages passages(m_db);
    QStringList given;
    int64_t parts_chosen = 0, parts_total = 0;
    for (size_t d = 0; d < window.documents.size(); ++d) {
        const ChatDocument& document = window.documents[d];
        std::vector<int64_t> chosen;
        for (const SegmentRef& s : window.memories.segments)
            if (s.document == d)
                chosen.push_back(s.segment);
        for (const int64_t s : chosen)
            result.memories.push_back({document.id, s});
        const auto stored = static_cast<int64_t>(document.outline.stored.size());
        if (!chosen.empty()) {
            given << QStringLiteral("%1 of %2 parts of %3")
                         .arg(chosen.size())
                         .arg(document.outline.segments_total)
                         .arg(QString::fromStdString(document.title));
        }
        parts_chosen += static_cast<int64_t>(chosen.size());
        parts_total += document.outline.segments_total;
        if (stored < document.outline.segments_total) {
            result.notices << QStringLiteral("“%1” is still being compressed: %2 of %3 parts are ready.")
                                  .arg(QString::fromStdString(document.title))
                                  .arg(stored)
                                  .arg(document.outline.segments_total);
        }
        // Memories as runs of neighbouring segments, each with the pages it covers.
        const auto in_document = chosen.empty() ? std::vector<storage::Passage>{} : passages.of_document(document.id);
        const auto& offsets = document.outline.segment_offsets;
        for (size_t i = 0; i < chosen.size();) {
            size_t j = i + 1;
            while (j < chosen.size() && chosen[j] == chosen[j - 1] + 1)
                ++j;
            const int64_t begin = offsets[static_cast<size_t>(chosen[i])];
            const int64_t end = offsets[static_cast<size_t>(chosen[j - 1] + 1)];
            const auto first = page_at(in_document, begin), last = page_at(in_document, std::max(begin, end - 1));
            const storage::Passage* opening = passage_at(in_document, begin);
            const std::string section = opening ? opening->section : std::string();
            const std::string place = place_of(section, first, last);
            sources.push_back({{"kind", "memory"},
                               {"document_id", document.id},
                               {"title", document.title},
                               {"segments", {chosen[i], chosen[j - 1]}},
                               {"begin", begin},
                               {"end", end},
                               {"page", first ? nlohmann::json(*first) : nlohmann::json()},
                               {"page_last", last ? nlohmann::json(*last) : nlohmann::json()},
                               {"section", section},
                               {"place", place},
                               {"label", document.title + (place.empty() ? "" : " " + place)}});
            i = j;
        }
    }
    for (size_t i = 0; i < window.placed.size(); ++i) {
        const storage::Passage& p = window.placed[i].passage;
        const auto at =
            std::find(chat->document_ids.begin(), chat->document_ids.end(), p.document_id) - chat->document_ids.begin();
        const std::string& title = window.documents[static_cast<size_t>(at)].title;
        const std::string place = place_of(p.section, p.page_first, p.page_last);
        sources.push_back({{"kind", "passage"},
                           {"document_id", p.document_id},
                           {"title", title},
                           {"passage_id", p.id},
                           {"begin", p.begin},
                           {"end", p.end},
                           {"page", p.page_first ? nlohmann::json(*p.page_first) : nlohmann::json()},
                           {"page_last", p.page_last ? nlohmann::json(*p.page_last) : nlohmann::json()},
                           {"section", p.section},
                           {"place", place},
                           {"label", title + (place.empty() ? "" : " " + place)},
                           {"text", window.placed_text[i]}});
        result.passages.push_back(p);
    }
    result.sources_json = sources.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    result.prompt_text = m_engine.tokenizer().decode(window.prompt);
    if (given.size() > 3)  // "from 224 of 4480 parts of 30 documents"
        given = QStringList{QStringLiteral("%1 of %2 parts of %3 documents")
                                .arg(parts_chosen)
                                .arg(parts_total)
                                .arg(window.documents.size())};
    const QString passages_given = QStringLiteral("%1 passage%2")
                                       .arg(window.placed.size())
                                       .arg(window.placed.size() == 1 ? QString() : QStringLiteral("s"));
    const QString summary =
        given.isEmpty() ? QStringLiteral("From %1 of the documents, without memories.").arg(passages_given)
                        : QStringLiteral("From %1 and %2.").arg(given.join(QStringLiteral(", ")), passages_given);
    result.notices.prepend(summary);

    model::GenerateRequest request;
    request.prompt = window.prompt;
    request.max_new_tokens = options.max_new_tokens;
    request.ignore_eos = options.ignore_eos;
    request.sampling = options.sampling;

    // The answer is a message from the first token on, growing in the database as it streams.
    result.answer_id = chats.add_message(chat_id, storage::Role::Assistant, "", false, result.sources_json);
    model::StreamDecoder decoder(m_engine.tokenizer(), options.continuation);
    std::string pending;
    QElapsedTimer sinceFlush;
    sinceFlush.start();
    auto flush = [&] {
        if (pending.empty())
            return;
        chats.append_to_message(result.answer_id, pending);
        if (on_text)
            on_text(pending);
        result.text += pending;
        pending.clear();
        sinceFlush.restart();
    };
    result.generation = memory.generate(
        request,
        [&](int32_t id) {
            pending += decoder.push(id);
            if (sinceFlush.elapsed() >= 33)
                flush();  // about 30 updates per second
        },
        cancel);
    pending += decoder.flush();
    flush();
    chats.finish_message(result.answer_id);
    if (result.generation.stop == model::StopReason::Cancelled)
        result.notices << QStringLiteral("Stopped. The answer so far is kept; Regenerate asks again.");
    return result;
}

}  // namespace uio::services
