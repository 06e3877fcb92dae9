#include "uio/storage/chats.h"

#include "uio/storage/library.h"
#include "uio/storage/statement.h"

#include <nlohmann/json.hpp>

namespace uio::storage {

int64_t Chats::create(const std::string& title, const std::vector<int64_t>& document_ids) {
    Transaction transaction(m_db);
    Statement insert(m_db, "INSERT INTO chats(title, created_at, updated_at) VALUES (?, ?, ?)");
    const int64_t now = now_ms();
    insert.bind(1, title).bind(2, now).bind(3, now).run();
    const int64_t id = m_db.last_insert_rowid();
    Statement add(m_db, "INSERT INTO chat_documents(chat_id, document_id, position) VALUES (?, ?, ?)");
    for (size_t i = 0; i < document_ids.size(); ++i) {
        add.bind(1, id).bind(2, document_ids[i]).bind(3, static_cast<int64_t>(i)).run();
        add.reset();
    }
    transaction.commit();
    return id;
}

namespace {

// The chat in the current row of (id, title, created_at, updated_at), with its documents.
Chat chat_from_row(Database& db, Statement& row) {
    Chat chat{row.column_int(0), row.column_text(1), row.column_int(2), row.column_int(3), {}};
    Statement documents(db, "SELECT document_id FROM chat_documents WHERE chat_id = ? ORDER BY position");
    documents.bind(1, chat.id);
    while (documents.step())
        chat.document_ids.push_back(documents.column_int(0));
    return chat;
}

}  // namespace

std::optional<Chat> Chats::get(int64_t id) {
    Statement select(m_db, "SELECT id, title, created_at, updated_at FROM chats WHERE id = ?");
    select.bind(1, id);
    if (!select.step())
        return std::nullopt;
    return chat_from_row(m_db, select);
}

std::vector<Chat> Chats::list() {
    // The rows themselves, not ids looked up again: in a damaged file an index can name a chat
    // that the table does not have (fuzz_library's finding).
    Statement select(m_db, "SELECT id, title, created_at, updated_at FROM chats ORDER BY updated_at DESC, id DESC");
    std::vector<Chat> chats;
    while (select.step())
        chats.push_back(chat_from_row(m_db, select));
    return chats;
}

void Chats::rename(int64_t id, const std::string& title) {
    Statement update(m_db, "UPDATE chats SET title = ?, updated_at = ? WHERE id = ?");
    update.bind(1, title).bind(2, now_ms()).bind(3, id).run();
}

void Chats::remove(int64_t id) {
    Statement remove(m_db, "DELETE FROM chats WHERE id = ?");
    remove.bind(1, id).run();
}

void Chats::touch(int64_t chat_id) {
    Statement update(m_db, "UPDATE chats SET updated_at = ? WHERE id = ?");
    update.bind(1, now_ms()).bind(2, chat_id).run();
}

const char* role_name(Role role) {
    switch (role) {
        case Role::System:
            return "system";
        case Role::User:
            return "user";
        case Role::Assistant:
            return "assistant";
    }
    return "system";
}

namespace {

Role role_named(const std::string& name) {
    if (name == "user")
        return Role::User;
    if (name == "assistant")
        return Role::Assistant;
    return Role::System;
}

// A message's sources; none when the stored JSON is damaged.
nlohmann::json sources_of(const Message& message) {
    auto sources = nlohmann::json::parse(message.sources_json, nullptr, false);
    return sources.is_array() ? sources : nlohmann::json::array();
}

}  // namespace

int64_t Chats::add_message(int64_t chat_id, Role role, const std::string& content, bool complete,
                           const std::string& sources_json) {
    Transaction transaction(m_db);
    Statement insert(m_db,
                     "INSERT INTO messages(chat_id, role, content, complete, created_at, sources) "
                     "VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, chat_id)
        .bind(2, role_name(role))
        .bind(3, content)
        .bind(4, int64_t{complete})
        .bind(5, now_ms())
        .bind(6, sources_json)
        .run();
    const int64_t id = m_db.last_insert_rowid();
    touch(chat_id);
    transaction.commit();
    return id;
}

void Chats::append_to_message(int64_t message_id, const std::string& text) {
    Statement update(m_db, "UPDATE messages SET content = content || ? WHERE id = ?");
    update.bind(1, text).bind(2, message_id).run();
}

void Chats::finish_message(int64_t message_id) {
    Statement update(m_db, "UPDATE messages SET complete = 1 WHERE id = ?");
    update.bind(1, message_id).run();
}

void Chats::delete_message(int64_t message_id) {
    Statement remove(m_db, "DELETE FROM messages WHERE id = ?");
    remove.bind(1, message_id).run();
}

std::vector<Message> Chats::messages(int64_t chat_id) {
    Statement select(m_db,
                     "SELECT id, chat_id, role, content, complete, created_at, sources FROM messages "
                     "WHERE chat_id = ? ORDER BY id");
    select.bind(1, chat_id);
    std::vector<Message> result;
    while (select.step()) {
        result.push_back({select.column_int(0), select.column_int(1), role_named(select.column_text(2)),
                          select.column_text(3), select.column_int(4) != 0, select.column_int(5),
                          select.column_text(6)});
    }
    return result;
}

std::string Chats::export_markdown(int64_t chat_id) {
    const auto chat = get(chat_id);
    if (!chat)
        return {};
    std::string out = "# " + chat->title + "\n";
    for (const Message& m : messages(chat_id)) {
        const std::string who = m.role == Role::User ? "You" : m.role == Role::Assistant ? "Assistant" : "System";
        out += "\n**" + who + ":**\n\n" + m.content + (m.complete ? "" : "\n\n*(answer interrupted)*") + "\n";
        std::string cited;
        for (const auto& source : sources_of(m)) {
            if (source.is_object() && source.contains("label") && source["label"].is_string())
                cited += (cited.empty() ? "" : " · ") + source["label"].get<std::string>();
        }
        if (!cited.empty())
            out += "\n*Sources: " + cited + "*\n";
    }
    return out;
}

std::string Chats::export_json(int64_t chat_id) {
    const auto chat = get(chat_id);
    if (!chat)
        return {};
    nlohmann::json messages_json = nlohmann::json::array();
    for (const Message& m : messages(chat_id)) {
        messages_json.push_back({{"role", role_name(m.role)},
                                 {"content", m.content},
                                 {"complete", m.complete},
                                 {"created_at", m.created_at},
                                 {"sources", sources_of(m)}});
    }
    const nlohmann::json json = {{"title", chat->title},
                                 {"created_at", chat->created_at},
                                 {"updated_at", chat->updated_at},
                                 {"document_ids", chat->document_ids},
                                 {"messages", messages_json}};
    return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace uio::storage
