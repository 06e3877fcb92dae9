// Questions about documents, answered with their memories in front and persisted as they stream:
// the question is saved before the model starts, the answer grows in the database as tokens
// arrive, so a crash keeps both. The window is planned per question (windowplan.h): all memories
// when they fit, else those the question's passages point to; verbatim passages after them; the
// sources written with the answer. Memories stay on the device while the choice stays the same.
// Runs on the thread that owns the engine and the database connection.
#pragma once

#include "uio/model/chat_format.h"
#include "uio/model/engine.h"
#include "uio/services/compressor.h"
#include "uio/storage/chats.h"
#include "uio/storage/passages.h"

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
    // The share of the model's positions for passages placed verbatim (names, numbers and
    // quotations exact); they also stay within one live segment, so that none is compressed.
    double passage_share = 0.25;
    // Memories of an adapter that was never trained carry nothing a model can read: such chats
    // answer from passages only, unless this is set.
    bool untrained_memories = false;
    // A model that continues text rather than answering (a base model, such as the story demo):
    // the conversation so far is one running text that the model carries on, after the documents'
    // memories and tails; no chat template and no passages.
    bool continuation = false;
};

// A segment whose memory went into the window.
struct ChosenSegment {
    int64_t document_id = 0;
    int64_t segment = 0;
};

struct Answer {
    int64_t question_id = 0;
    int64_t answer_id = 0;
    std::string text;
    model::Generation generation;
    QStringList notices;  // what the user should know: what it was given, dropped turns, ...
    // What went into the window after the memories: memories chosen (in document order), the
    // passages placed verbatim (best first), the text before the answer, and the sources as stored.
    std::vector<ChosenSegment> memories;
    std::vector<storage::Passage> passages;
    std::string prompt_text;
    std::string sources_json;
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
    struct Window;
    Window plan(const storage::Chat& chat, const std::string& question, const std::vector<model::ChatExchange>& history,
                const AskOptions& options, Answer& result);
    model::MemoryChat& memory_chat(const storage::Chat& chat, const Window& window);
    Answer answer(int64_t chat_id, int64_t question_id, const std::string& question, const AskOptions& options,
                  const std::function<void(const std::string&)>& on_text, const std::atomic<bool>* cancel);

    model::Engine& m_engine;
    storage::Database& m_db;
    Compressor& m_compressor;
    std::map<int64_t, std::unique_ptr<Context>> m_contexts;
};

}  // namespace uio::services
