#include "sentencepiece_model.h"

#include "uio/model/error.h"

#include <bit>
#include <cstring>

namespace uio::model {

namespace {

// Field numbers of sentencepiece_model.proto.
namespace field {
constexpr uint32_t kPieces = 1, kTrainerSpec = 2, kNormalizerSpec = 3;
constexpr uint32_t kPiece = 1, kScore = 2, kType = 3;
constexpr uint32_t kModelType = 3, kVocabSize = 4, kByteFallback = 35, kUnkId = 40, kBosId = 41, kEosId = 42,
                   kPadId = 43;
constexpr uint32_t kName = 1, kCharsmap = 2, kAddDummyPrefix = 3, kRemoveExtraWhitespaces = 4, kEscapeWhitespaces = 5;
}  // namespace field

enum WireType : uint32_t { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

class Reader {
public:
    Reader(std::string_view bytes, const std::string& source) : m_bytes(bytes), m_source(source) {}

    bool done() const { return m_pos >= m_bytes.size(); }

    uint64_t varint() {
        uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (done()) {
                fail("truncated varint");
            }
            const auto byte = static_cast<uint8_t>(m_bytes[m_pos++]);
            value |= static_cast<uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0) {
                return value;
            }
        }
        fail("varint longer than 10 bytes");
    }

    std::string_view bytes() {
        const uint64_t n = varint();
        if (n > m_bytes.size() - m_pos) {
            fail("a field runs past the end of the file");
        }
        const auto view = m_bytes.substr(m_pos, n);
        m_pos += n;
        return view;
    }

    float fixed32_float() {
        if (m_bytes.size() - m_pos < 4) {
            fail("truncated float");
        }
        uint32_t bits = 0;
        std::memcpy(&bits, m_bytes.data() + m_pos, 4);  // protobuf is little-endian, as is x86/ARM
        m_pos += 4;
        return std::bit_cast<float>(bits);
    }

    void skip(uint32_t wire_type) {
        switch (wire_type) {
            case Varint:
                varint();
                return;
            case Fixed64:
                advance(8);
                return;
            case Bytes:
                bytes();
                return;
            case Fixed32:
                advance(4);
                return;
            default:
                fail("unknown wire type " + std::to_string(wire_type));
        }
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw ModelError(m_source + ": not a valid SentencePiece model (" + what + " at byte " + std::to_string(m_pos) +
                         ")");
    }

private:
    void advance(size_t n) {
        if (m_bytes.size() - m_pos < n) {
            fail("truncated field");
        }
        m_pos += n;
    }

    std::string_view m_bytes;
    const std::string& m_source;
    size_t m_pos = 0;
};

template <typename OnField>
void for_each_field(std::string_view bytes, const std::string& source, OnField on_field) {
    Reader reader(bytes, source);
    while (!reader.done()) {
        const uint64_t key = reader.varint();
        on_field(static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7), reader);
    }
}

void expect(uint32_t wire_type, uint32_t expected, Reader& reader) {
    if (wire_type != expected) {
        reader.fail("field has wire type " + std::to_string(wire_type) + ", expected " + std::to_string(expected));
    }
}

class Writer {
public:
    void varint(uint64_t value) {
        while (value >= 0x80) {
            m_out.push_back(static_cast<char>((value & 0x7f) | 0x80));
            value >>= 7;
        }
        m_out.push_back(static_cast<char>(value));
    }
    void key(uint32_t number, WireType type) { varint((static_cast<uint64_t>(number) << 3) | type); }
    void field_varint(uint32_t number, int64_t value) {
        key(number, Varint);
        varint(static_cast<uint64_t>(value));  // negative int32 values take ten bytes, as in protobuf
    }
    void field_bytes(uint32_t number, std::string_view value) {
        key(number, Bytes);
        varint(value.size());
        m_out.append(value);
    }
    void field_float(uint32_t number, float value) {
        key(number, Fixed32);
        const auto bits = std::bit_cast<uint32_t>(value);
        m_out.append(reinterpret_cast<const char*>(&bits), 4);
    }
    const std::string& str() const { return m_out; }

private:
    std::string m_out;
};

}  // namespace

SpmModel SpmModel::parse(std::string_view bytes, const std::string& source) {
    SpmModel model;
    for_each_field(bytes, source, [&](uint32_t number, uint32_t wire, Reader& reader) {
        if (number == field::kPieces) {
            expect(wire, Bytes, reader);
            SpmPiece piece;
            for_each_field(reader.bytes(), source, [&](uint32_t n, uint32_t w, Reader& r) {
                if (n == field::kPiece && w == Bytes) {
                    piece.piece = std::string(r.bytes());
                } else if (n == field::kScore && w == Fixed32) {
                    piece.score = r.fixed32_float();
                } else if (n == field::kType && w == Varint) {
                    const uint64_t type = r.varint();
                    if (type < SpmPiece::Normal || type > SpmPiece::Byte) {
                        r.fail("unknown piece type " + std::to_string(type));
                    }
                    piece.type = static_cast<SpmPiece::Type>(type);
                } else {
                    r.skip(w);
                }
            });
            model.pieces.push_back(std::move(piece));
        } else if (number == field::kTrainerSpec) {
            expect(wire, Bytes, reader);
            for_each_field(reader.bytes(), source, [&](uint32_t n, uint32_t w, Reader& r) {
                if (w != Varint) {
                    r.skip(w);
                    return;
                }
                const auto value = static_cast<int64_t>(r.varint());
                switch (n) {
                    case field::kModelType:
                        model.model_type = static_cast<ModelType>(value);
                        break;
                    case field::kVocabSize:
                        model.vocab_size = static_cast<int32_t>(value);
                        break;
                    case field::kByteFallback:
                        model.byte_fallback = value != 0;
                        break;
                    case field::kUnkId:
                        model.unk_id = static_cast<int32_t>(value);
                        break;
                    case field::kBosId:
                        model.bos_id = static_cast<int32_t>(value);
                        break;
                    case field::kEosId:
                        model.eos_id = static_cast<int32_t>(value);
                        break;
                    case field::kPadId:
                        model.pad_id = static_cast<int32_t>(value);
                        break;
                    default:
                        break;
                }
            });
        } else if (number == field::kNormalizerSpec) {
            expect(wire, Bytes, reader);
            for_each_field(reader.bytes(), source, [&](uint32_t n, uint32_t w, Reader& r) {
                if (n == field::kName && w == Bytes) {
                    model.normalizer_name = std::string(r.bytes());
                } else if (n == field::kCharsmap && w == Bytes) {
                    model.precompiled_charsmap = std::string(r.bytes());
                } else if (w == Varint && n == field::kAddDummyPrefix) {
                    model.add_dummy_prefix = r.varint() != 0;
                } else if (w == Varint && n == field::kRemoveExtraWhitespaces) {
                    model.remove_extra_whitespaces = r.varint() != 0;
                } else if (w == Varint && n == field::kEscapeWhitespaces) {
                    model.escape_whitespaces = r.varint() != 0;
                } else {
                    r.skip(w);
                }
            });
        } else {
            reader.skip(wire);
        }
    });
    return model;
}

std::string SpmModel::serialize() const {
    Writer out;
    for (const SpmPiece& piece : pieces) {
        Writer p;
        p.field_bytes(field::kPiece, piece.piece);
        p.field_float(field::kScore, piece.score);
        p.field_varint(field::kType, piece.type);
        out.field_bytes(field::kPieces, p.str());
    }
    Writer trainer;
    trainer.field_varint(field::kModelType, model_type);
    trainer.field_varint(field::kVocabSize, vocab_size);
    trainer.field_varint(field::kByteFallback, byte_fallback);
    trainer.field_varint(field::kUnkId, unk_id);
    trainer.field_varint(field::kBosId, bos_id);
    trainer.field_varint(field::kEosId, eos_id);
    trainer.field_varint(field::kPadId, pad_id);
    out.field_bytes(field::kTrainerSpec, trainer.str());
    Writer normalizer;
    normalizer.field_bytes(field::kName, normalizer_name);
    if (!precompiled_charsmap.empty()) {
        normalizer.field_bytes(field::kCharsmap, precompiled_charsmap);
    }
    normalizer.field_varint(field::kAddDummyPrefix, add_dummy_prefix);
    normalizer.field_varint(field::kRemoveExtraWhitespaces, remove_extra_whitespaces);
    normalizer.field_varint(field::kEscapeWhitespaces, escape_whitespaces);
    out.field_bytes(field::kNormalizerSpec, normalizer.str());
    return out.str();
}

}  // namespace uio::model
