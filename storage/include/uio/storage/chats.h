// Chats and their messages, written as they happen: a streaming answer is a message that grows
// by appends (each one committed), so a crash keeps everything written so far. Exports to
// Markdown and JSON. Borrows a Database; one thread.
#pragma once

#include "uio/storage/database.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uio::storage {

struct Chat {
    int64_t id = 0;
    std::string title;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    std::vector<int64_t> document_ids;  // in the order their memories go in front
};

// Who wrote a message. Named ("system", "user", "assistant") only in the SQL, in exports and
// where they are read back; a name no program writes (a damaged file) reads as System.
enum class Role { System, User, Assistant };
const char* role_name(Role role);

struct Message {
    int64_t id = 0;
    int64_t chat_id = 0;
    Role role = Role::User;
    std::string content;
    bool complete = true;  // false while an answer streams (or if the program died meanwhile)
    int64_t created_at = 0;
    // What an answer was made from: a JSON array of {"kind": "passage" | "memory", "document_id",
    // "title", "label", "page", "section", "begin", "end", ...}, written before the answer streams.
    std::string sources_json = "[]";
};

class Chats {
public:
    explicit Chats(Database& db) : m_db(db) {}

    int64_t create(const std::string& title, const std::vector<int64_t>& document_ids);
    std::optional<Chat> get(int64_t id);
    std::vector<Chat> list();  // most recently updated first
    void rename(int64_t id, const std::string& title);
    void remove(int64_t id);

    int64_t add_message(int64_t chat_id, Role role, const std::string& content, bool complete = true,
                        const std::string& sources_json = "[]");
    void append_to_message(int64_t message_id, const std::string& text);
    void finish_message(int64_t message_id);
    void delete_message(int64_t message_id);
    std::vector<Message> messages(int64_t chat_id);

    std::string export_markdown(int64_t chat_id);
    std::string export_json(int64_t chat_id);

private:
    void touch(int64_t chat_id);
    Database& m_db;
};

}  // namespace uio::storage
