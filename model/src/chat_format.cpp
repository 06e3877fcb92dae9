#include "uio/model/chat_format.h"

#include "uio/model/tokenizer.h"

namespace uio::model {

namespace {

std::string strip(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\n\r");
    if (begin == std::string::npos)
        return {};
    const auto end = s.find_last_not_of(" \t\n\r");
    return s.substr(begin, end - begin + 1);
}

}  // namespace

std::vector<int32_t> llama2_chat_prompt(const Tokenizer& tokenizer, const std::string& system,
                                        const std::vector<ChatExchange>& history, const std::string& question) {
    std::vector<int32_t> ids;
    auto user_text = [&, first = true](const std::string& user) mutable {
        std::string text = strip(user);
        if (first && !strip(system).empty()) {
            text = "<<SYS>>\n" + strip(system) + "\n<</SYS>>\n\n" + text;
        }
        first = false;
        return text;
    };
    for (const ChatExchange& exchange : history) {
        const auto turn = tokenizer.encode(
            "[INST] " + user_text(exchange.user) + " [/INST] " + strip(exchange.assistant) + " ", true);
        ids.insert(ids.end(), turn.begin(), turn.end());
        ids.push_back(tokenizer.eos_id());
    }
    const auto last = tokenizer.encode("[INST] " + user_text(question) + " [/INST]", true);
    ids.insert(ids.end(), last.begin(), last.end());
    return ids;
}

}  // namespace uio::model
