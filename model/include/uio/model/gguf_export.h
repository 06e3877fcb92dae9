// Writes a Hugging Face Llama folder as one GGUF file (version 3), the format llama.cpp and the
// programs built on it read, so that a model used here can be run or compared there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace uio::model {

// How the matrices are stored; norms are always f32. q8_0 is llama.cpp's 8-bit format: blocks
// of 32 weights sharing one f16 scale (a matrix whose rows do not split into blocks stays f16).
enum class GgufType { F32, F16, BF16, Q8_0 };

GgufType parse_gguf_type(const std::string& name);  // "f32", "f16", "bf16", "q8_0"; throws ModelError
std::string gguf_type_name(GgufType type);

// Reads config.json, the weights and tokenizer.model in model_dir and writes `out` (through a
// partial file renamed at the end). progress receives one line per tensor. Throws ModelError
// when the model cannot be expressed in GGUF (tokenizer.json only, llama3 rope scaling) or the
// file cannot be written.
void export_gguf(const std::filesystem::path& model_dir, const std::filesystem::path& out, GgufType type,
                 const std::function<void(const std::string&)>& progress = {});

}  // namespace uio::model
