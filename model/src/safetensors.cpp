#include "safetensors.h"

#include "uio/model/error.h"

#include <ATen/ATen.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace uio::model {

namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit

at::ScalarType parse_dtype(const std::string& name, const std::string& tensor, const std::string& file) {
    if (name == "F32")
        return at::kFloat;
    if (name == "F16")
        return at::kHalf;
    if (name == "BF16")
        return at::kBFloat16;
    throw ModelError(file + ": tensor " + tensor + " has dtype " + name +
                     ", which UIO Desk does not read (it reads F32, F16 and BF16)");
}

}  // namespace

std::string shape_string(c10::IntArrayRef shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) {
            s += ',';
        }
        s += std::to_string(shape[i]);
    }
    s += ']';
    return s;
}

std::string safetensors_dtype_name(at::ScalarType dtype) {
    switch (dtype) {
        case at::kFloat:
            return "F32";
        case at::kHalf:
            return "F16";
        case at::kBFloat16:
            return "BF16";
        default:
            throw ModelError(std::string("cannot write tensors of dtype ") + c10::toString(dtype));
    }
}

struct SafetensorsFile::Mapping {
    void* address = MAP_FAILED;
    size_t size = 0;
    ~Mapping() {
        if (address != MAP_FAILED) {
            munmap(address, size);
        }
    }
};

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : m_path(path), m_mapping(std::make_shared<Mapping>()) {
    const std::string file = path.string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw ModelError(file + ": cannot be opened (" + std::strerror(errno) + ")");
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        throw ModelError(file + ": cannot be read (" + std::strerror(errno) + ")");
    }
    const auto file_size = static_cast<uint64_t>(st.st_size);
    if (file_size < 8) {
        ::close(fd);
        throw ModelError(file + ": too short to be a safetensors file (" + std::to_string(file_size) + " bytes)");
    }
    // MAP_PRIVATE: the tensors see the file's bytes, and nothing can ever write back to it.
    m_mapping->size = file_size;
    m_mapping->address = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m_mapping->address == MAP_FAILED) {
        throw ModelError(file + ": cannot be memory-mapped (" + std::strerror(errno) + ")");
    }
    const auto* bytes = static_cast<const std::byte*>(m_mapping->address);

    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) {
        header_size = (header_size << 8) | std::to_integer<uint64_t>(bytes[i]);
    }
    if (header_size > file_size - 8) {
        throw ModelError(file + ": header length " + std::to_string(header_size) + " is larger than the file (" +
                         std::to_string(file_size) + " bytes); the file is truncated or not a safetensors file");
    }
    if (header_size > kMaxHeaderBytes) {
        throw ModelError(file + ": header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
    }
    const auto* header_begin = reinterpret_cast<const char*>(bytes + 8);
    json header;
    try {
        header = json::parse(header_begin, header_begin + header_size);
    } catch (const json::exception& e) {  // a syntax error, or a number no double holds
        throw ModelError(file + ": the header is not valid JSON (" + e.what() + ")");
    }
    if (!header.is_object()) {
        throw ModelError(file + ": the header is not a JSON object");
    }

    const uint64_t data_size = file_size - 8 - header_size;
    m_data = bytes + 8 + header_size;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& [name, value] : header.items()) {
        if (name == "__metadata__") {
            if (!value.is_object()) {
                throw ModelError(file + ": __metadata__ is not an object");
            }
            for (const auto& [key, text] : value.items()) {
                if (!text.is_string()) {
                    throw ModelError(file + ": __metadata__ value for \"" + key + "\" is not a string");
                }
                m_metadata[key] = text.get<std::string>();
            }
            continue;
        }
        if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
            !value.contains("data_offsets") || !value["dtype"].is_string() || !value["shape"].is_array() ||
            !value["data_offsets"].is_array() || value["data_offsets"].size() != 2) {
            throw ModelError(file + ": tensor " + name + " needs \"dtype\", \"shape\" and two \"data_offsets\"");
        }
        SafetensorsEntry entry;
        entry.dtype = parse_dtype(value["dtype"].get<std::string>(), name, file);
        uint64_t n_elements = 1;
        for (const json& dim : value["shape"]) {
            if (!dim.is_number_unsigned()) {
                throw ModelError(file + ": tensor " + name + " has a shape entry that is not a non-negative integer");
            }
            const uint64_t d = dim.get<uint64_t>();
            if (d != 0 && n_elements > data_size / d) {
                throw ModelError(file + ": tensor " + name + " has shape larger than the file");
            }
            n_elements *= d;
            entry.shape.push_back(static_cast<int64_t>(d));
        }
        for (const json& offset : value["data_offsets"]) {
            if (!offset.is_number_unsigned()) {
                throw ModelError(file + ": tensor " + name + " has a data offset that is not a non-negative integer");
            }
        }
        entry.begin = value["data_offsets"][0].get<uint64_t>();
        entry.end = value["data_offsets"][1].get<uint64_t>();
        if (entry.begin > entry.end || entry.end > data_size) {
            throw ModelError(file + ": tensor " + name + " has data offsets [" + std::to_string(entry.begin) + ", " +
                             std::to_string(entry.end) + "] outside the " + std::to_string(data_size) +
                             " bytes of data; the file is truncated or damaged");
        }
        const uint64_t expected = n_elements * c10::elementSize(entry.dtype);
        if (entry.end - entry.begin != expected) {
            throw ModelError(file + ": tensor " + name + " of shape " + shape_string(entry.shape) + " needs " +
                             std::to_string(expected) + " bytes but its offsets span " +
                             std::to_string(entry.end - entry.begin));
        }
        ranges.emplace_back(entry.begin, entry.end);
        m_entries.emplace(name, std::move(entry));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
        if (ranges[i].first < ranges[i - 1].second) {
            throw ModelError(file + ": tensors overlap in the data section (bytes " + std::to_string(ranges[i].first) +
                             " to " + std::to_string(ranges[i - 1].second) + ")");
        }
    }
}

at::Tensor SafetensorsFile::view(const std::string& name) const {
    const auto it = m_entries.find(name);
    if (it == m_entries.end()) {
        throw ModelError(m_path.string() + ": tensor " + name + " is missing");
    }
    const SafetensorsEntry& entry = it->second;
    auto* data = const_cast<std::byte*>(m_data + entry.begin);
    std::shared_ptr<Mapping> keep = m_mapping;
    auto tensor = at::from_blob(
        data, entry.shape, [keep](void*) mutable { keep.reset(); }, at::TensorOptions().dtype(entry.dtype));
    // Tensor kernels may assume element alignment; the format does not promise it.
    if (reinterpret_cast<uintptr_t>(data) % c10::elementSize(entry.dtype) != 0) {
        return tensor.clone();
    }
    return tensor;
}

SafetensorsWriter::SafetensorsWriter(const std::filesystem::path& path, const std::vector<Spec>& specs,
                                     const std::map<std::string, std::string>& metadata)
    : m_specs(specs) {
    json header = json::object();
    if (!metadata.empty()) {
        header["__metadata__"] = metadata;
    }
    uint64_t offset = 0;
    for (const Spec& spec : specs) {
        uint64_t n_bytes = c10::elementSize(spec.dtype);
        for (const int64_t d : spec.shape) {
            n_bytes *= static_cast<uint64_t>(d);
        }
        header[spec.name] = {{"dtype", safetensors_dtype_name(spec.dtype)},
                             {"shape", spec.shape},
                             {"data_offsets", {offset, offset + n_bytes}}};
        offset += n_bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned

    m_file = std::make_unique<PartialFile>(path);
    char length[8];
    for (int i = 0; i < 8; ++i) {
        length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    }
    m_file->write(length, 8);
    m_file->write(text);
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::write(const at::Tensor& tensor) {
    TORCH_CHECK(m_next < m_specs.size(), "SafetensorsWriter: more tensors than declared");
    const Spec& spec = m_specs[m_next++];
    TORCH_CHECK(tensor.scalar_type() == spec.dtype && tensor.sizes() == c10::IntArrayRef(spec.shape),
                "SafetensorsWriter: ", spec.name, " declared ", shape_string(spec.shape), " got ", tensor.sizes());
    const at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    m_file->write(cpu.data_ptr(), static_cast<size_t>(cpu.numel()) * cpu.element_size());
}

void SafetensorsWriter::finish() {
    TORCH_CHECK(m_next == m_specs.size(), "SafetensorsWriter: ", m_specs.size() - m_next, " tensors not written");
    m_file->finish();
}

void SafetensorsFile::release(const std::string& name) const {
    const auto it = m_entries.find(name);
    if (it == m_entries.end()) {
        return;
    }
    // madvise wants page-aligned ranges: release only the pages wholly inside the tensor.
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<uintptr_t>(m_data + it->second.begin);
    const auto end = reinterpret_cast<uintptr_t>(m_data + it->second.end);
    const uintptr_t first = (begin + page - 1) / page * page;
    const uintptr_t last = end / page * page;
    if (last > first) {
        madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
    }
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    std::vector<SafetensorsWriter::Spec> specs;
    for (const auto& [name, tensor] : tensors) {
        specs.push_back({name, tensor.scalar_type(), tensor.sizes().vec()});
    }
    SafetensorsWriter writer(path, specs, metadata);
    for (const auto& [name, tensor] : tensors) {
        writer.write(tensor);
    }
    writer.finish();
}

}  // namespace uio::model
