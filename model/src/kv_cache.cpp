#include "kv_cache.h"

#include <ATen/ATen.h>

namespace uio::model {

std::pair<at::Tensor, at::Tensor> KVCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
    at::Tensor& keys = m_keys.at(layer);
    at::Tensor& values = m_values.at(layer);
    const int64_t T = k.size(2);
    const int64_t needed = m_size + T;
    if (!keys.defined() || keys.size(2) < needed) {
        const int64_t capacity = std::max<int64_t>({needed, 2 * (keys.defined() ? keys.size(2) : 0), 64});
        auto grown_k = at::empty({k.size(0), k.size(1), capacity, k.size(3)}, k.options());
        auto grown_v = at::empty({v.size(0), v.size(1), capacity, v.size(3)}, v.options());
        if (m_size > 0) {
            grown_k.narrow(2, 0, m_size).copy_(keys.narrow(2, 0, m_size));
            grown_v.narrow(2, 0, m_size).copy_(values.narrow(2, 0, m_size));
        }
        keys = grown_k;
        values = grown_v;
    }
    keys.narrow(2, m_size, T).copy_(k);
    values.narrow(2, m_size, T).copy_(v);
    return {keys.narrow(2, 0, needed), values.narrow(2, 0, needed)};
}

void KVCache::truncate(int64_t n) {
    m_size = std::min(m_size, std::max<int64_t>(n, 0));
}

}  // namespace uio::model
