// The Llama-2-chat prompt format, built from token ids so that text in a message can never
// inject special tokens: "<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} </s>"
// per finished turn, then "<s>[INST] {question} [/INST]", as Meta's reference code does it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uio::model {

class Tokenizer;

struct ChatExchange {
    std::string user;
    std::string assistant;
};

// history: finished exchanges, oldest first; question: the new user message.
std::vector<int32_t> llama2_chat_prompt(const Tokenizer& tokenizer, const std::string& system,
                                        const std::vector<ChatExchange>& history, const std::string& question);

}  // namespace uio::model
