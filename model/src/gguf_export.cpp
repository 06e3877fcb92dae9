#include "uio/model/gguf_export.h"

#include "checkpoint.h"
#include "llama.h"
#include "partial_file.h"
#include "sentencepiece_model.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>
#include <c10/util/Half.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace uio::model {

namespace {

// GGUF's value and tensor type codes (ggml.h, gguf.h).
enum ValueType : uint32_t { U32 = 4, I32 = 5, F32Value = 6, Bool = 7, String = 8, Array = 9 };
enum TensorType : uint32_t { TensorF32 = 0, TensorF16 = 1, TensorQ8_0 = 8, TensorBF16 = 30 };
constexpr uint64_t kAlignment = 32;
constexpr int64_t kQ8Block = 32;  // weights per q8_0 block: one f16 scale, 32 int8

// The little-endian bytes of the header, appended in order.
class Bytes {
public:
    template <typename T>
    void put(T value) {
        static_assert(std::is_trivially_copyable_v<T>);
        m_data.append(reinterpret_cast<const char*>(&value), sizeof value);  // x86-64 and ARM64 are little-endian
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        m_data.append(s);
    }
    void key(const std::string& name, ValueType type) {
        put_string(name);
        put<uint32_t>(type);
        ++m_keys;
    }
    void kv_u32(const std::string& name, uint32_t v) {
        key(name, U32);
        put(v);
    }
    void kv_f32(const std::string& name, float v) {
        key(name, F32Value);
        put(v);
    }
    void kv_bool(const std::string& name, bool v) {
        key(name, Bool);
        put<uint8_t>(v ? 1 : 0);
    }
    void kv_string(const std::string& name, const std::string& v) {
        key(name, String);
        put_string(v);
    }
    void array_header(const std::string& name, ValueType element, uint64_t n) {
        key(name, Array);
        put<uint32_t>(element);
        put<uint64_t>(n);
    }

    const std::string& data() const { return m_data; }
    uint64_t keys() const { return m_keys; }

private:
    std::string m_data;
    uint64_t m_keys = 0;
};

uint64_t aligned(uint64_t offset) {
    return (offset + kAlignment - 1) / kAlignment * kAlignment;
}

struct TensorPlan {
    std::string hf_name;    // in the checkpoint
    std::string gguf_name;  // in the file
    int64_t permute_heads;  // > 0: rows reordered for llama.cpp's rotation (q and k)
    TensorType type;
    std::vector<int64_t> shape;  // torch order (out, in)
    uint64_t offset = 0;
    uint64_t bytes() const {
        const int64_t n = shape.size() == 2 ? shape[0] * shape[1] : shape[0];
        switch (type) {
            case TensorF32:
                return 4 * static_cast<uint64_t>(n);
            case TensorF16:
            case TensorBF16:
                return 2 * static_cast<uint64_t>(n);
            case TensorQ8_0:
                return static_cast<uint64_t>(n / kQ8Block) * (2 + kQ8Block);
        }
        return 0;
    }
};

std::string gguf_name_of(const std::string& hf) {
    static const std::pair<const char*, const char*> kLayerParts[] = {
        {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
        {"input_layernorm.weight", "attn_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
    };
    if (hf == "model.embed_tokens.weight")
        return "token_embd.weight";
    if (hf == "model.norm.weight")
        return "output_norm.weight";
    if (hf == "lm_head.weight")
        return "output.weight";
    const std::string prefix = "model.layers.";
    if (hf.rfind(prefix, 0) == 0) {
        const size_t dot = hf.find('.', prefix.size());
        const std::string layer = hf.substr(prefix.size(), dot - prefix.size());
        const std::string part = hf.substr(dot + 1);
        for (const auto& [from, to] : kLayerParts) {
            if (part == from)
                return "blk." + layer + "." + to;
        }
    }
    throw ModelError("GGUF export: no llama.cpp name for tensor " + hf);
}

// Hugging Face rotates the two halves of each head's dimensions against each other; llama.cpp
// rotates neighbouring pairs. Row j of a head's first half and row j of its second half become
// rows 2j and 2j + 1, which gives the same dot products after rotation.
at::Tensor interleave_halves(const at::Tensor& w, int64_t n_heads) {
    const int64_t rows = w.size(0), cols = w.size(1), half = rows / n_heads / 2;
    return w.reshape({n_heads, 2, half, cols}).transpose(1, 2).reshape({rows, cols});
}

std::string q8_0_bytes(const at::Tensor& w) {
    const at::Tensor x = w.to(at::kFloat).contiguous();
    const float* data = x.data_ptr<float>();
    const int64_t n_blocks = x.numel() / kQ8Block;
    std::string out(static_cast<size_t>(n_blocks) * (2 + kQ8Block), '\0');
    char* dst = out.data();
    for (int64_t b = 0; b < n_blocks; ++b, data += kQ8Block, dst += 2 + kQ8Block) {
        float amax = 0.0f;
        for (int64_t i = 0; i < kQ8Block; ++i)
            amax = std::max(amax, std::fabs(data[i]));
        const float scale = amax / 127.0f;
        const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
        const c10::Half half(scale);
        std::memcpy(dst, &half.x, 2);
        for (int64_t i = 0; i < kQ8Block; ++i)
            dst[2 + i] = static_cast<char>(static_cast<int8_t>(std::lround(data[i] * inverse)));
    }
    return out;
}

std::string tensor_bytes(const at::Tensor& w, TensorType type) {
    if (type == TensorQ8_0)
        return q8_0_bytes(w);
    const auto dtype = type == TensorF32 ? at::kFloat : type == TensorF16 ? at::kHalf : at::kBFloat16;
    const at::Tensor x = w.to(dtype).contiguous();
    return std::string(static_cast<const char*>(x.data_ptr()), static_cast<size_t>(x.numel() * x.element_size()));
}

uint32_t file_type_code(GgufType type) {
    switch (type) {
        case GgufType::F32:
            return 0;
        case GgufType::F16:
            return 1;
        case GgufType::Q8_0:
            return 7;
        case GgufType::BF16:
            return 32;
    }
    return 0;
}

TensorType matrix_type(GgufType type) {
    switch (type) {
        case GgufType::F32:
            return TensorF32;
        case GgufType::F16:
            return TensorF16;
        case GgufType::BF16:
            return TensorBF16;
        case GgufType::Q8_0:
            return TensorQ8_0;
    }
    return TensorF32;
}

void put_model_keys(Bytes& kv, const LlamaConfig& c, const std::string& name, GgufType type) {
    kv.kv_string("general.architecture", "llama");
    kv.kv_string("general.name", name);
    kv.kv_u32("general.file_type", file_type_code(type));
    kv.kv_u32("general.alignment", kAlignment);
    kv.kv_u32("llama.context_length", static_cast<uint32_t>(c.n_ctx_train));
    kv.kv_u32("llama.embedding_length", static_cast<uint32_t>(c.n_embd));
    kv.kv_u32("llama.block_count", static_cast<uint32_t>(c.n_layer));
    kv.kv_u32("llama.feed_forward_length", static_cast<uint32_t>(c.n_ff));
    kv.kv_u32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_dim()));
    kv.kv_u32("llama.attention.head_count", static_cast<uint32_t>(c.n_head));
    kv.kv_u32("llama.attention.head_count_kv", static_cast<uint32_t>(c.n_kv_head));
    kv.kv_f32("llama.attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
    kv.kv_f32("llama.rope.freq_base", static_cast<float>(c.rope_theta));
    kv.kv_u32("llama.vocab_size", static_cast<uint32_t>(c.n_vocab));
    if (c.rope_linear_factor != 1.0) {
        kv.kv_string("llama.rope.scaling.type", "linear");
        kv.kv_f32("llama.rope.scaling.factor", static_cast<float>(c.rope_linear_factor));
    }
}

void put_tokenizer_keys(Bytes& kv, const SpmModel& spm, const LlamaConfig& c) {
    // The vocabulary is padded to the model's rows, as llama.cpp's converter does.
    const auto n = static_cast<uint64_t>(c.n_vocab);
    kv.kv_string("tokenizer.ggml.model", "llama");
    kv.array_header("tokenizer.ggml.tokens", String, n);
    for (uint64_t i = 0; i < n; ++i)
        kv.put_string(i < spm.pieces.size() ? spm.pieces[i].piece : "[PAD" + std::to_string(i) + "]");
    kv.array_header("tokenizer.ggml.scores", F32Value, n);
    for (uint64_t i = 0; i < n; ++i)
        kv.put<float>(i < spm.pieces.size() ? spm.pieces[i].score : -1000.0f);
    kv.array_header("tokenizer.ggml.token_type", I32, n);
    for (uint64_t i = 0; i < n; ++i)
        kv.put<int32_t>(i < spm.pieces.size() ? spm.pieces[i].type : SpmPiece::Unused);
    kv.kv_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_id));
    kv.kv_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_id));
    if (spm.unk_id >= 0)
        kv.kv_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(spm.unk_id));
    if (spm.pad_id >= 0)
        kv.kv_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(spm.pad_id));
    kv.kv_bool("tokenizer.ggml.add_bos_token", true);
    kv.kv_bool("tokenizer.ggml.add_eos_token", false);
    kv.kv_bool("tokenizer.ggml.add_space_prefix", spm.add_dummy_prefix);
}

SpmModel read_spm(const std::filesystem::path& model_dir) {
    const auto path = model_dir / "tokenizer.model";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ModelError(model_dir.string() +
                         ": GGUF export needs tokenizer.model (a SentencePiece model); this folder has none");
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    return SpmModel::parse(bytes.str(), path.string());
}

}  // namespace

GgufType parse_gguf_type(const std::string& name) {
    if (name == "f32")
        return GgufType::F32;
    if (name == "f16")
        return GgufType::F16;
    if (name == "bf16")
        return GgufType::BF16;
    if (name == "q8_0")
        return GgufType::Q8_0;
    throw ModelError("unknown GGUF type '" + name + "' (use f32, f16, bf16 or q8_0)");
}

std::string gguf_type_name(GgufType type) {
    switch (type) {
        case GgufType::F32:
            return "f32";
        case GgufType::F16:
            return "f16";
        case GgufType::BF16:
            return "bf16";
        case GgufType::Q8_0:
            return "q8_0";
    }
    return "?";
}

void export_gguf(const std::filesystem::path& model_dir, const std::filesystem::path& out, GgufType type,
                 const std::function<void(const std::string&)>& progress) {
    const LlamaConfig config = LlamaConfig::load(model_dir / "config.json");
    if (config.rope_llama3.factor > 0.0)
        throw ModelError("GGUF export: llama3 rope scaling is not written yet; this model uses it");
    const SpmModel spm = read_spm(model_dir);
    const Checkpoint checkpoint(model_dir);
    const auto weights = checkpoint_weights(config, checkpoint);

    std::vector<TensorPlan> plan;
    uint64_t offset = 0;
    for (const auto& [name, view] : weights) {
        TensorPlan t{name, gguf_name_of(name), 0, view.dim() == 2 ? matrix_type(type) : TensorF32, view.sizes().vec()};
        if (t.type == TensorQ8_0 && t.shape[1] % kQ8Block != 0)
            t.type = TensorF16;  // rows that do not split into blocks, as llama.cpp's quantizer does
        if (name.ends_with("q_proj.weight"))
            t.permute_heads = config.n_head;
        if (name.ends_with("k_proj.weight"))
            t.permute_heads = config.n_kv_head;
        t.offset = offset;
        offset = aligned(offset + t.bytes());
        plan.push_back(std::move(t));
    }

    Bytes header;
    header.put<uint32_t>(0x46554747);  // "GGUF"
    header.put<uint32_t>(3);
    header.put<uint64_t>(plan.size());
    Bytes kv;
    put_model_keys(kv, config, model_dir.filename().string(), type);
    put_tokenizer_keys(kv, spm, config);
    header.put<uint64_t>(kv.keys());
    Bytes infos;
    for (const TensorPlan& t : plan) {
        infos.put_string(t.gguf_name);
        infos.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d)  // GGUF lists the fastest dimension first
            infos.put<uint64_t>(static_cast<uint64_t>(*d));
        infos.put<uint32_t>(t.type);
        infos.put<uint64_t>(t.offset);
    }

    PartialFile file(out);
    file.write(header.data());
    file.write(kv.data());
    file.write(infos.data());
    file.pad_to(kAlignment);
    for (size_t i = 0; i < plan.size(); ++i) {
        const TensorPlan& t = plan[i];
        at::Tensor w = weights[i].second;
        if (t.permute_heads > 0)
            w = interleave_halves(w, t.permute_heads);
        file.write(tensor_bytes(w, t.type));
        file.pad_to(kAlignment);
        checkpoint.release(t.hf_name);
        if (progress)
            progress(t.gguf_name + " " + shape_string(t.shape));
    }
    file.finish();
}

}  // namespace uio::model
