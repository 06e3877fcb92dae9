#include "uio/services/chatservice.h"

#include "uio/model/chat_format.h"

#include <QElapsedTimer>

namespace uio::services {

struct ChatService::Context {
    std::vector<int64_t> documents;
    std::vector<int64_t> segments;  // per document, to notice progress of compression
    std::unique_ptr<model::MemoryChat> chat;
    std::vector<int32_t> tails;  // the documents' uncompressed tails, in order
    QStringList notices;
};

ChatService::ChatService(model::Engine& engine, storage::Database& db, Compressor& compressor)
    : m_engine(engine), m_db(db), m_compressor(compressor) {}

ChatService::~ChatService() = default;

ChatService::Context& ChatService::context(int64_t chat_id, QStringList& notices) {
    const auto chat = storage::Chats(m_db).get(chat_id);
    if (!chat)
        throw std::runtime_error("chat " + std::to_string(chat_id) + " does not exist");
    // Reloading means reading every memory blob: only when documents or their compression changed.
    std::vector<int64_t> segments;
    for (const int64_t id : chat->document_ids) {
        segments.push_back(m_compressor.stored_segments(id));
    }
    if (!m_contexts.count(chat_id)) {
        m_contexts.clear();  // one chat's memories on the device at a time
    }
    auto& slot = m_contexts[chat_id];
    if (!slot || slot->documents != chat->document_ids || slot->segments != segments) {
        auto context = std::make_unique<Context>();
        context->documents = chat->document_ids;
        context->segments = segments;
        std::vector<model::MemoryBlob> memories;
        storage::Documents documents(m_db);
        for (const int64_t id : chat->document_ids) {
            Compressor::Loaded loaded = m_compressor.load(id);
            for (auto& blob : loaded.segments)
                memories.push_back(std::move(blob));
            context->tails.insert(context->tails.end(), loaded.tail.begin(), loaded.tail.end());
            if (!loaded.complete()) {
                context->notices << QStringLiteral(
                                        "“%1” is still being compressed: answering from its first %2 of %3 parts.")
                                        .arg(QString::fromStdString(documents.get(id)->title))
                                        .arg(loaded.segments.size())
                                        .arg(loaded.segments_total);
            }
        }
        context->chat = m_engine.open_memory_chat(memories);  // projected once, kept on the device
        slot = std::move(context);
    }
    notices << slot->notices;
    return *slot;
}

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

Answer ChatService::answer(int64_t chat_id, int64_t question_id, const std::string& question, const AskOptions& options,
                           const std::function<void(const std::string&)>& on_text, const std::atomic<bool>* cancel) {
    Answer result;
    result.question_id = question_id;
    Context& context = this->context(chat_id, result.notices);

    // Earlier finished exchanges, oldest dropped first until the prompt fits.
    storage::Chats chats(m_db);
    std::vector<model::ChatExchange> history;
    const auto messages = chats.messages(chat_id);
    for (size_t i = 0; i + 1 < messages.size(); ++i) {
        if (messages[i].id >= question_id)
            break;
        if (messages[i].role == storage::Role::User && messages[i + 1].role == storage::Role::Assistant) {
            history.push_back({messages[i].content, messages[i + 1].content});
        }
    }
    // The answer needs room for at most one segment of live tokens: each full segment of it is
    // compressed on the way (uio-method.md §5).
    const int64_t answer_room =
        std::min<int64_t>(options.max_new_tokens, m_engine.adapter_info().config.segment_length);
    const int64_t room = context.chat->positions_free() - answer_room - static_cast<int64_t>(context.tails.size());
    std::vector<int32_t> turn =
        model::llama2_chat_prompt(m_engine.tokenizer(), options.system_prompt, history, question);
    size_t dropped = 0;
    while (static_cast<int64_t>(turn.size()) > room && dropped < history.size()) {
        ++dropped;
        turn = model::llama2_chat_prompt(m_engine.tokenizer(), options.system_prompt,
                                         {history.begin() + static_cast<std::ptrdiff_t>(dropped), history.end()},
                                         question);
    }
    if (dropped > 0) {
        result.notices
            << QStringLiteral("The %1 oldest exchanges were left out to fit the model's context.").arg(dropped);
    }
    if (static_cast<int64_t>(turn.size()) > room) {
        throw std::runtime_error(
            "the question is too long for what is left of the model's context; shorten it or "
            "ask about fewer documents");
    }

    model::GenerateRequest request;
    request.prompt = context.tails;
    request.prompt.insert(request.prompt.end(), turn.begin(), turn.end());
    request.max_new_tokens = options.max_new_tokens;
    request.ignore_eos = options.ignore_eos;
    request.sampling = options.sampling;

    // The answer is a message from the first token on, growing in the database as it streams.
    result.answer_id = chats.add_message(chat_id, storage::Role::Assistant, "", false);
    model::StreamDecoder decoder(m_engine.tokenizer());
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
    result.generation = context.chat->generate(
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
