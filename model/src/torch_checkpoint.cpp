#include "torch_checkpoint.h"

#include "uio/model/error.h"

#include <ATen/ATen.h>

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <variant>

namespace uio::model {

namespace {

// The globals a torch.save'd list of tensors may name; any other is refused, never called.
enum class Global {
    RebuildTensor,
    RebuildParameter,
    OrderedDict,
    FloatStorage,
    HalfStorage,
    BFloat16Storage,
    DoubleStorage
};

// Values live in the unpickler's arena and point at each other plainly: a hostile pickle may make
// cycles (a list appended to itself) or nest a hundred thousand lists deep, and neither leaks nor
// recurses when the arena is freed.
struct Value;
using ValuePtr = Value*;
struct Mark {};
struct None {};
struct Storage {
    at::ScalarType dtype;
    std::string key;
};
struct Value {
    std::variant<None, bool, int64_t, double, std::string, std::vector<ValuePtr> /* list */, Global, Storage,
                 at::Tensor, Mark>
        data;
    bool is_tuple = false;
    bool is_dict = false;  // its items are dropped: only empty hook dicts are expected
};

class Unpickler {
public:
    Unpickler(caffe2::serialize::PyTorchStreamReader& zip, std::string_view bytes, std::string file)
        : m_zip(zip), m_bytes(bytes), m_file(std::move(file)) {}

    ValuePtr run() {
        while (true) {
            const auto op = static_cast<uint8_t>(byte());
            switch (op) {
                case 0x80:
                    byte();
                    break;  // PROTO
                case '.':
                    return pop();  // STOP
                case ']':
                    push(make(std::vector<ValuePtr>{}));
                    break;
                case ')':
                    push(make(std::vector<ValuePtr>{}, true));
                    break;
                case '}':
                    push(make_dict());
                    break;
                case '(':
                    push(make(Mark{}));
                    break;
                case 'N':
                    push(make(None{}));
                    break;
                case 0x88:
                    push(make(true));
                    break;
                case 0x89:
                    push(make(false));
                    break;
                case 'K':
                    push(make(static_cast<int64_t>(static_cast<uint8_t>(byte()))));
                    break;
                case 'M':
                    push(make(static_cast<int64_t>(little(2))));
                    break;
                case 'J':
                    push(make(static_cast<int64_t>(static_cast<int32_t>(little(4)))));
                    break;
                case 0x8a:
                    push(make(long1()));
                    break;
                case 'G':
                    push(make(binfloat()));
                    break;
                case 'X':
                    push(make(std::string(take(little(4)))));
                    break;
                case 0x8c:
                    push(make(std::string(take(static_cast<uint8_t>(byte())))));
                    break;
                case 'T':
                    push(make(std::string(take(little(4)))));
                    break;
                case 'U':
                    push(make(std::string(take(static_cast<uint8_t>(byte())))));
                    break;
                case 'q':
                    m_memo[static_cast<uint8_t>(byte())] = top();
                    break;
                case 'r':
                    m_memo[little(4)] = top();
                    break;
                case 'h':
                    push(memo(static_cast<uint8_t>(byte())));
                    break;
                case 'j':
                    push(memo(little(4)));
                    break;
                case 0x85:
                    tuple(1);
                    break;
                case 0x86:
                    tuple(2);
                    break;
                case 0x87:
                    tuple(3);
                    break;
                case 't':
                    push(make(pop_to_mark(), true));
                    break;
                case 'a':
                    append(pop());
                    break;
                case 'e':
                    for (auto& v : pop_to_mark())
                        append(v);
                    break;
                case 's':
                    pop();
                    pop();
                    break;  // SETITEM into a hooks dict: dropped
                case 'u':
                    pop_to_mark();
                    break;  // SETITEMS likewise
                case 'c':
                    push(make(global()));
                    break;
                case 'Q':
                    push(persistent(pop()));
                    break;  // BINPERSID
                case 'R': {
                    auto args = pop();
                    push(reduce(pop(), args));
                    break;
                }
                case 'b':
                    pop();
                    break;  // BUILD: state of an OrderedDict, dropped
                default:
                    fail("unsupported pickle opcode 0x" + hex(op));
            }
        }
    }

private:
    ValuePtr make_dict() {
        ValuePtr p = make(std::vector<ValuePtr>{});
        p->is_dict = true;
        return p;
    }
    template <typename T>
    ValuePtr make(T v, bool tuple = false) {
        m_arena.push_back(std::make_unique<Value>());
        ValuePtr p = m_arena.back().get();
        p->data = std::move(v);
        p->is_tuple = tuple;
        return p;
    }
    [[noreturn]] void fail(const std::string& what) const {
        throw ModelError(m_file + ": cannot be imported (" + what +
                         "); only a list of tensors saved by torch.save is accepted");
    }
    static std::string hex(uint8_t v) {
        char s[4];
        std::snprintf(s, sizeof s, "%02x", v);
        return s;
    }
    char byte() {
        if (m_pos >= m_bytes.size())
            fail("the pickle ends early");
        return m_bytes[m_pos++];
    }
    std::string_view take(uint64_t n) {
        if (n > m_bytes.size() - m_pos)
            fail("a string runs past the end of the pickle");
        const auto s = m_bytes.substr(m_pos, n);
        m_pos += n;
        return s;
    }
    uint64_t little(int n) {
        uint64_t v = 0;
        const auto s = take(static_cast<uint64_t>(n));
        for (int i = n - 1; i >= 0; --i)
            v = (v << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
        return v;
    }
    int64_t long1() {
        const auto n = static_cast<uint8_t>(byte());
        if (n > 8)
            fail("an integer longer than 64 bits");
        const auto s = take(n);
        int64_t v = 0;
        for (int i = n - 1; i >= 0; --i)
            v = (v << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
        if (n > 0 && n < 8 && (static_cast<uint8_t>(s[n - 1]) & 0x80))
            v -= int64_t(1) << (8 * n);  // two's complement
        return v;
    }
    double binfloat() {
        uint64_t bits = 0;
        for (const char c : take(8))
            bits = (bits << 8) | static_cast<uint8_t>(c);  // big-endian
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
    }
    Global global() {
        std::string module, name;
        for (char c; (c = byte()) != '\n';)
            module += c;
        for (char c; (c = byte()) != '\n';)
            name += c;
        static const std::map<std::string, Global> allowed{
            {"torch._utils._rebuild_tensor_v2", Global::RebuildTensor},
            {"torch._utils._rebuild_parameter", Global::RebuildParameter},
            {"collections.OrderedDict", Global::OrderedDict},
            {"torch.FloatStorage", Global::FloatStorage},
            {"torch.HalfStorage", Global::HalfStorage},
            {"torch.BFloat16Storage", Global::BFloat16Storage},
            {"torch.DoubleStorage", Global::DoubleStorage},
        };
        const auto it = allowed.find(module + "." + name);
        if (it == allowed.end())
            fail("it refers to " + module + "." + name + ", which is refused");
        return it->second;
    }
    void push(ValuePtr v) { m_stack.push_back(std::move(v)); }
    ValuePtr top() {
        if (m_stack.empty())
            fail("the pickle stack is empty");
        return m_stack.back();
    }
    ValuePtr pop() {
        ValuePtr v = top();
        m_stack.pop_back();
        return v;
    }
    ValuePtr memo(uint64_t key) {
        const auto it = m_memo.find(key);
        if (it == m_memo.end())
            fail("a memo entry is missing");
        return it->second;
    }
    std::vector<ValuePtr> pop_to_mark() {
        std::vector<ValuePtr> items;
        while (true) {
            ValuePtr v = pop();
            if (std::holds_alternative<Mark>(v->data))
                break;
            items.insert(items.begin(), v);
        }
        return items;
    }
    void tuple(int n) {
        std::vector<ValuePtr> items(static_cast<size_t>(n));
        for (int i = n - 1; i >= 0; --i)
            items[static_cast<size_t>(i)] = pop();
        push(make(items, true));
    }
    void append(const ValuePtr& v) {
        auto* list = std::get_if<std::vector<ValuePtr>>(&top()->data);
        if (!list)
            fail("APPEND to something that is not a list");
        list->push_back(v);
    }
    const std::vector<ValuePtr>& items(const ValuePtr& v) {
        const auto* list = std::get_if<std::vector<ValuePtr>>(&v->data);
        if (!list)
            fail("expected a tuple");
        return *list;
    }
    int64_t integer(const ValuePtr& v) {
        const auto* i = std::get_if<int64_t>(&v->data);
        if (!i)
            fail("expected an integer");
        return *i;
    }
    std::vector<int64_t> integers(const ValuePtr& v) {
        std::vector<int64_t> out;
        for (const auto& i : items(v))
            out.push_back(integer(i));
        return out;
    }
    ValuePtr persistent(const ValuePtr& pid) {
        // ('storage', torch.FloatStorage, key, location, numel)
        const auto& t = items(pid);
        const auto* kind = t.size() == 5 ? std::get_if<Global>(&t[1]->data) : nullptr;
        const auto* key = t.size() == 5 ? std::get_if<std::string>(&t[2]->data) : nullptr;
        if (!kind || !key)
            fail("a storage reference of an unknown form");
        const std::map<Global, at::ScalarType> types{{Global::FloatStorage, at::kFloat},
                                                     {Global::HalfStorage, at::kHalf},
                                                     {Global::BFloat16Storage, at::kBFloat16},
                                                     {Global::DoubleStorage, at::kDouble}};
        if (!types.count(*kind))
            fail("a storage of an unsupported type");
        return make(Storage{types.at(*kind), *key});
    }
    ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
        const auto* g = std::get_if<Global>(&callable->data);
        if (!g)
            fail("a call of something that is not an allowed function");
        const auto& a = items(args);
        switch (*g) {
            case Global::OrderedDict:
                return make_dict();
            case Global::RebuildParameter:
                if (a.empty() || !std::holds_alternative<at::Tensor>(a[0]->data))
                    fail("a parameter without a tensor");
                return a[0];
            case Global::RebuildTensor: {
                if (a.size() < 4)
                    fail("a tensor with too few arguments");
                const auto* storage = std::get_if<Storage>(&a[0]->data);
                if (!storage)
                    fail("a tensor without storage");
                return make(rebuild(*storage, integer(a[1]), integers(a[2]), integers(a[3])));
            }
            default:
                fail("a storage type used as a function");
        }
    }
    at::Tensor rebuild(const Storage& storage, int64_t offset, const std::vector<int64_t>& size,
                       const std::vector<int64_t>& stride) {
        const std::string record = "data/" + storage.key;
        if (!m_zip.hasRecord(record))
            fail("the storage " + record + " is missing");
        auto [data, n_bytes] = m_zip.getRecord(record);
        const int64_t element = static_cast<int64_t>(c10::elementSize(storage.dtype));
        if (size.size() != stride.size() || offset < 0 || static_cast<int64_t>(n_bytes) % element != 0) {
            fail("a tensor whose size, stride or storage do not fit together");
        }
        // The last element's offset, with every step checked: sizes and strides are the file's.
        int64_t extent = offset;
        for (size_t i = 0; i < size.size(); ++i) {
            if (size[i] < 0 || stride[i] < 0)
                fail("a negative size or stride");
            int64_t step = 0;
            if (size[i] > 0 && (__builtin_mul_overflow(size[i] - 1, stride[i], &step) ||
                                __builtin_add_overflow(extent, step, &extent))) {
                fail("a tensor that reaches past its storage");
            }
        }
        if (extent >= static_cast<int64_t>(n_bytes) / element)
            fail("a tensor that reaches past its storage");
        // No more elements than its storage holds (repeating views of one value are not saved
        // adapters, and would let a small file ask for any amount of memory).
        int64_t numel = 1;
        for (const int64_t d : size) {
            if (__builtin_mul_overflow(numel, d, &numel) || numel > static_cast<int64_t>(n_bytes) / element)
                fail("a tensor larger than its storage");
        }
        auto bytes = at::empty({static_cast<int64_t>(n_bytes) / element}, at::TensorOptions().dtype(storage.dtype));
        std::memcpy(bytes.data_ptr(), data.get(), n_bytes);
        return bytes.as_strided(size, stride, offset).clone();
    }

    caffe2::serialize::PyTorchStreamReader& m_zip;
    std::string_view m_bytes;
    std::string m_file;
    size_t m_pos = 0;
    std::vector<std::unique_ptr<Value>> m_arena;
    std::vector<ValuePtr> m_stack;
    std::map<uint64_t, ValuePtr> m_memo;
};

}  // namespace

std::vector<at::Tensor> read_torch_tensor_list(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
    try {
        zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(file);
    } catch (const c10::Error&) {
        throw ModelError(file +
                         ": not a torch.save zip archive (files from PyTorch before 1.6 must be saved again "
                         "with a newer PyTorch)");
    }
    if (!zip->hasRecord("data.pkl")) {
        throw ModelError(file + ": the archive has no data.pkl");
    }
    auto [data, size] = zip->getRecord("data.pkl");
    Unpickler unpickler(*zip, std::string_view(static_cast<const char*>(data.get()), size), file);
    const ValuePtr result = unpickler.run();
    const auto* list = std::get_if<std::vector<ValuePtr>>(&result->data);
    if (!list || result->is_tuple || result->is_dict) {
        throw ModelError(file + ": the saved object is not a list of tensors");
    }
    std::vector<at::Tensor> tensors;
    for (const ValuePtr& item : *list) {
        const auto* tensor = item->is_dict ? nullptr : std::get_if<at::Tensor>(&item->data);
        if (!tensor)
            throw ModelError(file + ": the saved list holds something that is not a tensor");
        tensors.push_back(*tensor);
    }
    return tensors;
}

}  // namespace uio::model
