// Questions about documents, answered with their memories in front and persisted as they stream:
// the question is saved before the model starts, the answer grows in the database as tokens
// arrive, so a crash keeps both. Memories are loaded once per chat and stay on the device until
// the chat's documents or their compression change. Runs on the thread that owns the engine and
// the database connection.
#pragma once

#include "uio/model/engine.h"
#include "uio/services/compressor.h"
#include "uio/storage/chats.h"

#include <QStringList>

#include <atomic>
#include <functional>
#include <map>
#include <memory>

namespace uio::services {

struct AskOptions {
    std::string system_prompt;
    int32_t max_new_tokens = 512;
    bool ignore_eos = false;
    model::SamplingParams sampling;
};

struct Answer {
    int64_t question_id = 0;
    int64_t answer_id = 0;
    std::string text;
    model::Generation generation;
    QStringList notices;  // what the user should know: partial memories, dropped turns
};

class ChatService {
public:
    ChatService(model::Engine& engine, storage::Database& db, Compressor& compressor);
    ~ChatService();

    // on_text gets the answer in pieces (about 30 per second at most).
    Answer ask(int64_t chat_id, const std::string& question, const AskOptions& options,
               const std::function<void(const std::string&)>& on_text = {}, const std::atomic<bool>* cancel = nullptr);
    // Drops the last answer and answers its question again.
    Answer regenerate(int64_t chat_id, const AskOptions& options,
                      const std::function<void(const std::string&)>& on_text = {},
                      const std::atomic<bool>* cancel = nullptr);

private:
    struct Context;
    Context& context(int64_t chat_id, QStringList& notices);
    Answer answer(int64_t chat_id, int64_t question_id, const std::string& question, const AskOptions& options,
                  const std::function<void(const std::string&)>& on_text, const std::atomic<bool>* cancel);

    model::Engine& m_engine;
    storage::Database& m_db;
    Compressor& m_compressor;
    std::map<int64_t, std::unique_ptr<Context>> m_contexts;
};

}  // namespace uio::services
