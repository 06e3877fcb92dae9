#include "ultragist.h"

#include "attention.h"
#include "checkpoint.h"
#include "matmul.h"
#include "uio/model/error.h"

#include <ATen/ATen.h>

namespace uio::model {

std::vector<std::string> ultragist_tensor_names(const LlamaConfig& c) {
    std::vector<std::string> names{"model.ultragist_embed_tokens.weight"};
    for (int64_t k = 0; k < c.n_layer; ++k) {
        const std::string p = "model.layers." + std::to_string(k) + ".self_attn.ultragist_";
        for (const char* w : {"q", "k", "v", "o"})
            names.push_back(p + w + "_proj.weight");
    }
    return names;
}

UltraGistWeights load_ultragist_weights(const std::function<at::Tensor(const std::string&)>& find, const LlamaConfig& c,
                                        const at::Device& device, at::ScalarType dtype) {
    const int64_t D = c.head_dim();
    const std::vector<std::string> names = ultragist_tensor_names(c);
    auto read = [&](size_t i, std::vector<int64_t> shape) {
        const std::string& name = names[i];
        const at::Tensor t = find(name);
        if (!t.defined())
            throw ModelError("there is no " + name + ": not an UltraGist checkpoint for this model");
        if (t.sizes() != at::IntArrayRef(shape))
            throw ModelError(name + " has shape " + shape_string(t.sizes()) + ", this model needs " +
                             shape_string(shape));
        return t.to(device, dtype);
    };
    UltraGistWeights w;
    w.embed = read(0, {1, c.n_embd}).view({c.n_embd});
    for (int64_t k = 0; k < c.n_layer; ++k) {
        const auto i = static_cast<size_t>(1 + 4 * k);
        w.layers.push_back({read(i, {c.n_head * D, c.n_embd}), read(i + 1, {c.n_kv_head * D, c.n_embd}),
                            read(i + 2, {c.n_kv_head * D, c.n_embd}), read(i + 3, {c.n_embd, c.n_head * D})});
    }
    return w;
}

UltraGistWeights load_ultragist_weights(const Checkpoint& checkpoint, const LlamaConfig& c, const at::Device& device,
                                        at::ScalarType dtype) {
    return load_ultragist_weights(
        [&](const std::string& name) { return checkpoint.contains(name) ? checkpoint.view(name) : at::Tensor(); }, c,
        device, dtype);
}

int64_t adaptive_ratio(int64_t tokens, int64_t window, int64_t positions, const std::vector<int64_t>& ratios) {
    const int64_t needed = tokens + window;
    int64_t largest = 0;
    for (const int64_t r : ratios) {
        if (r <= 0 || window % r != 0)
            continue;
        largest = std::max(largest, r);
        if ((positions - window) * r + window >= needed)
            return r;  // ratios are tried from the smallest
    }
    return largest;
}

UltraGistSession::UltraGistSession(LlamaImpl& model, const UltraGistWeights& weights, int64_t window, int64_t ratio)
    : m_model(model), m_weights(weights), m_window(window), m_ratio(ratio) {
    if (window < 1 || (ratio > 0 && window % ratio != 0))
        throw ModelError("the compression ratio must divide the window of " + std::to_string(window) + " tokens");
    m_keys.resize(static_cast<size_t>(model.config.n_layer));
    m_values.resize(static_cast<size_t>(model.config.n_layer));
    m_rotated.resize(static_cast<size_t>(model.config.n_layer));
}

void UltraGistSession::reserve(int64_t n) {
    if (n <= m_capacity)
        return;
    const LlamaConfig& c = m_model.config;
    const int64_t capacity = std::max({n, 2 * m_capacity, int64_t(256)});
    const auto options = at::TensorOptions().dtype(m_model.compute_dtype()).device(m_model.device());
    for (auto* buffers : {&m_keys, &m_values, &m_rotated}) {
        for (at::Tensor& b : *buffers) {
            auto grown = at::empty({c.n_kv_head, capacity, c.head_dim()}, options);
            if (m_rows > 0)
                grown.narrow(1, 0, m_rows).copy_(b.narrow(1, 0, m_rows));
            b = grown;
        }
    }
    m_capacity = capacity;
}

void UltraGistSession::rotate_rows(int64_t first, int64_t n) {
    if (n <= 0)
        return;
    const auto slots = at::arange(first, first + n, at::TensorOptions().dtype(at::kLong).device(m_model.device()));
    const auto [cos, sin] = rope_cos_sin(rope_for(first + n), slots, m_model.compute_dtype());
    for (size_t k = 0; k < m_keys.size(); ++k)
        m_rotated[k].narrow(1, first, n).copy_(apply_rope(m_keys[k].narrow(1, first, n).unsqueeze(0), cos, sin)[0]);
}

at::Tensor UltraGistSession::feed(const std::vector<int32_t>& tokens, bool want_logits) {
    std::vector<at::Tensor> logits;
    // The release chooses the ratio from everything it was given when the first window completes.
    const int64_t known = m_seen + static_cast<int64_t>(tokens.size());
    size_t done = 0;
    while (done < tokens.size()) {
        // Up to the end of the current window; the forward that completes it also compresses it.
        const int64_t in_window = m_seen % m_window;
        const auto n = std::min<size_t>(tokens.size() - done, static_cast<size_t>(m_window - in_window));
        const std::vector<int32_t> chunk(tokens.begin() + static_cast<std::ptrdiff_t>(done),
                                         tokens.begin() + static_cast<std::ptrdiff_t>(done + n));
        int64_t n_memory = 0;
        if (in_window + static_cast<int64_t>(n) == m_window) {
            if (m_ratio == 0)
                m_ratio = adaptive_ratio(known, m_window, m_model.config.n_ctx(), {2, 4, 8, 16, 32});
            n_memory = m_window / m_ratio;
        }
        logits.push_back(forward(chunk, n_memory, want_logits));
        done += n;
    }
    if (!want_logits)
        return {};
    return logits.empty() ? at::empty({0, m_model.config.n_vocab}) : at::cat(logits, 0);
}

at::Tensor UltraGistSession::forward(const std::vector<int32_t>& tokens, int64_t U, bool want_logits) {
    const LlamaConfig& c = m_model.config;
    const auto device = m_model.device();
    const auto dtype = m_model.compute_dtype();
    const auto T = static_cast<int64_t>(tokens.size());
    const int64_t P = m_rows, Q = T + U;
    const int64_t before = m_sink + m_memory;  // rows before the current window
    const int64_t raw = P - before;            // rows of this window already cached
    const int64_t H = c.n_head, K = c.n_kv_head, D = c.head_dim();
    const auto longs = at::TensorOptions().dtype(at::kLong).device(device);

    // Slot positions of the new rows; a memory token sits where it would follow its chunk if
    // memory tokens were interleaved: before + (r + 1)(i + 1) - 1.
    auto positions = at::arange(P, P + Q, longs);
    const int64_t r = U > 0 ? (raw + T) / U : 1;
    if (U > 0)
        positions.narrow(0, T, U).copy_(before + (r + 1) * at::arange(1, U + 1, longs) - 1);
    const auto [cos, sin] = rope_cos_sin(rope_for(std::max(P + Q, before + (r + 1) * U)), positions, dtype);  // (Q, D)

    // Who sees whom: ordinary rows causally everything before them; memory token i the rows
    // before the window, the window's first (i + 1) r tokens, and memory tokens 0..i.
    auto mask = causal_mask(Q, P + Q, device);  // (Q, P+Q)
    if (U > 0) {
        auto memory_rows = mask.narrow(0, T, U);
        memory_rows.zero_();
        memory_rows.narrow(1, 0, before).fill_(true);
        const auto i = at::arange(U, longs).view({U, 1});
        const auto j = at::arange(raw + T, longs).view({1, raw + T});
        memory_rows.narrow(1, before, raw + T).copy_(j < (i + 1) * r);
        memory_rows.narrow(1, P + T, U).copy_(at::arange(U, longs).view({1, U}) <= i);
    }

    reserve(P + Q);
    auto ids = at::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), at::kLong).to(device);
    auto x = m_model.model->embed_tokens->weight.index_select(0, ids).to(dtype);  // (T, C)
    if (U > 0)
        x = at::cat({x, m_weights.embed.to(dtype).view({1, -1}).expand({U, c.n_embd})}, 0);  // (Q, C)
    for (int64_t k = 0; k < c.n_layer; ++k) {
        DecoderLayerImpl& layer = m_model.layer(k);
        AttentionImpl& attn = *layer.self_attn;
        const auto& extra = m_weights.layers[static_cast<size_t>(k)];
        const auto h = layer.input_layernorm(x);
        auto project = [&](const at::Tensor& base, const at::Tensor& memory) {
            const auto ordinary = dense(h.narrow(0, 0, T), base);
            return U > 0 ? at::cat({ordinary, dense(h.narrow(0, T, U), memory)}, 0) : ordinary;
        };
        const auto q = project(attn.q_proj->weight, extra[0]).view({Q, H, D}).transpose(0, 1);    // (H, Q, D)
        const auto key = project(attn.k_proj->weight, extra[1]).view({Q, K, D}).transpose(0, 1);  // (K, Q, D)
        const auto value = project(attn.v_proj->weight, extra[2]).view({Q, K, D}).transpose(0, 1);
        const auto l = static_cast<size_t>(k);
        m_keys[l].narrow(1, P, Q).copy_(key);
        m_values[l].narrow(1, P, Q).copy_(value);
        m_rotated[l].narrow(1, P, Q).copy_(apply_rope(key.unsqueeze(0), cos, sin)[0]);
        const auto rotated_q = apply_rope(q.unsqueeze(0), cos, sin);  // (1, H, Q, D)
        const auto y = attention_masked(rotated_q, m_rotated[l].narrow(1, 0, P + Q).unsqueeze(0),
                                        m_values[l].narrow(1, 0, P + Q).unsqueeze(0), mask)[0];  // (H, Q, D)
        const auto merged = y.transpose(0, 1).reshape({Q, H * D});
        auto out = dense(merged.narrow(0, 0, T), attn.o_proj->weight);
        if (U > 0)
            out = at::cat({out, dense(merged.narrow(0, T, U), extra[3])}, 0);
        x = x + out;
        if (want_logits || k + 1 < c.n_layer)  // the last layer's MLP feeds only the logits
            x = x + layer.mlp->forward(layer.post_attention_layernorm(x));
    }
    if (U > 0) {
        // A completed window leaves only its memory rows, after the rows before it (the first
        // time: after the sink, token 0).
        const int64_t keep = m_sink > 0 ? before : 1;
        for (size_t l = 0; l < m_keys.size(); ++l) {
            m_keys[l].narrow(1, keep, U).copy_(m_keys[l].narrow(1, P + T, U).clone());
            m_values[l].narrow(1, keep, U).copy_(m_values[l].narrow(1, P + T, U).clone());
        }
        rotate_rows(keep, U);  // at their slots from now on
        m_sink = 1;
        m_memory = keep - 1 + U;
        m_last = U;
        m_rows = keep + U;
    } else {
        m_rows = P + T;
    }
    m_seen += T;
    if (!want_logits)
        return {};
    return m_model.logits(m_model.model->norm(x.narrow(0, 0, T)).unsqueeze(0))[0];  // (T, V)
}

void UltraGistSession::restore(const std::vector<at::Tensor>& keys, const std::vector<at::Tensor>& values,
                               int64_t windows) {
    if (keys.size() != m_keys.size() || values.size() != m_values.size())
        throw ModelError("the memory has " + std::to_string(keys.size()) + " layers; the model has " +
                         std::to_string(m_keys.size()));
    const int64_t rows = keys.empty() ? 0 : keys.front().size(1);
    m_rows = 0;
    reserve(rows + m_window);
    for (size_t l = 0; l < m_keys.size(); ++l) {
        m_keys[l].narrow(1, 0, rows).copy_(keys[l]);
        m_values[l].narrow(1, 0, rows).copy_(values[l]);
    }
    rotate_rows(0, rows);
    m_rows = rows;
    m_sink = m_rows > 0 ? 1 : 0;
    m_memory = m_rows - m_sink;
    m_seen = windows * m_window;
    m_last = 0;
}

at::Tensor UltraGistSession::last_window() const {
    if (m_last == 0)
        throw ModelError("no window has been compressed");
    std::vector<at::Tensor> layers;
    for (size_t k = 0; k < m_keys.size(); ++k) {
        auto rows = [&](const at::Tensor& t) {  // (K, 1 + U, D)
            return at::cat({t.narrow(1, 0, 1), t.narrow(1, m_rows - m_last, m_last)}, 1);
        };
        layers.push_back(at::stack({rows(m_keys[k]), rows(m_values[k])}));
    }
    return at::stack(layers);  // (L, 2, K, 1 + U, D)
}

UltraGistSession::State UltraGistSession::state() const {
    State state{{}, {}, m_rows, m_sink, m_memory, m_seen, m_last};
    for (size_t l = 0; l < m_keys.size(); ++l) {
        state.keys.push_back(m_rows > 0 ? m_keys[l].narrow(1, 0, m_rows).clone() : at::Tensor());
        state.values.push_back(m_rows > 0 ? m_values[l].narrow(1, 0, m_rows).clone() : at::Tensor());
    }
    return state;
}

void UltraGistSession::set_state(const State& state) {
    if (state.rows > 0)
        restore(state.keys, state.values, 0);
    else
        m_rows = 0;
    m_rows = state.rows;
    m_sink = state.sink;
    m_memory = state.memory;
    m_seen = state.seen;
    m_last = state.last;
}

const RopeTable& UltraGistSession::rope_for(int64_t positions) {
    if (positions <= m_model.rope.n_positions())
        return m_model.rope;
    if (!m_long_rope || m_long_rope->n_positions() < positions) {
        const LlamaConfig& c = m_model.config;
        m_long_rope.emplace(c, std::max(positions, 2 * m_model.rope.n_positions()), m_model.device());
    }
    return *m_long_rope;
}

}  // namespace uio::model
