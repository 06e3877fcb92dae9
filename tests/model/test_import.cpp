// Importing the authors' checkpoints: a torch.save'd list of tensors, read without running
// pickled code. The files are written here the way torch.save writes them, and by hand for the
// refusals. (scripts/bench-gpu.sh also imports a file made by Python's torch.save.)

#include "adapter.h"
#include "torch_checkpoint.h"
#include "uio/model/error.h"
#include "uio/model/model_maker.h"

#include <ATen/ATen.h>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <caffe2/serialize/inline_container.h>

using namespace uio::model;

namespace {

// What Python's torch.save([t0, t1, ...]) writes (pickle protocol 2, one storage per tensor),
// byte for byte in structure: libtorch's own pickler tags lists with TorchScript types instead.
class TorchSave {
public:
    void save(const QString& path, const std::vector<at::Tensor>& tensors) {
        m_out = "\x80\x02]";
        memo();
        m_out += '(';
        for (size_t i = 0; i < tensors.size(); ++i)
            tensor(tensors[i], std::to_string(i));
        m_out += "e.";
        caffe2::serialize::PyTorchStreamWriter writer(path.toStdString());
        writer.writeRecord("data.pkl", m_out.data(), m_out.size());
        for (size_t i = 0; i < tensors.size(); ++i) {
            const at::Tensor storage = tensors[i].contiguous();  // its own storage, offset 0
            writer.writeRecord("data/" + std::to_string(i), storage.data_ptr(),
                               storage.numel() * storage.element_size());
        }
        writer.writeEndOfFile();
    }

private:
    void memo() { m_out += 'q', m_out += static_cast<char>(m_memo++); }
    void unicode(const std::string& s) {
        const auto n = static_cast<uint32_t>(s.size());
        m_out += 'X';
        m_out.append(reinterpret_cast<const char*>(&n), 4);
        m_out += s;
        memo();
    }
    void integer(int64_t v) {
        if (v < 256) {
            m_out += 'K', m_out += static_cast<char>(v);
        } else {
            const auto n = static_cast<int32_t>(v);
            m_out += 'J';
            m_out.append(reinterpret_cast<const char*>(&n), 4);
        }
    }
    void ints(c10::IntArrayRef values) {
        m_out += '(';
        for (const int64_t v : values)
            integer(v);
        m_out += 't';
        memo();
    }
    void tensor(const at::Tensor& t, const std::string& key) {
        const char* storage = t.scalar_type() == at::kHalf       ? "HalfStorage"
                              : t.scalar_type() == at::kBFloat16 ? "BFloat16Storage"
                                                                 : "FloatStorage";
        m_out += "ctorch._utils\n_rebuild_tensor_v2\n";
        memo();
        m_out += "((";
        unicode("storage");
        m_out += std::string("ctorch\n") + storage + "\n";
        memo();
        unicode(key);
        unicode("cpu");
        integer(t.numel());
        m_out += 't';
        memo();
        m_out += 'Q';
        integer(0);
        ints(t.sizes());
        ints(t.contiguous().strides());
        m_out +=
            "\x89"
            "ccollections\nOrderedDict\n";
        memo();
        m_out += ")R";
        memo();
        m_out += 't';
        memo();
        m_out += 'R';
        memo();
    }
    std::string m_out;
    int m_memo = 0;
};

// A torch.save-style zip around a hand-written pickle, with one 16-byte storage "data/0".
void writeArchive(const QString& path, const std::string& pickle) {
    caffe2::serialize::PyTorchStreamWriter writer(path.toStdString());
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    const std::string storage(16, '\0');
    writer.writeRecord("data/0", storage.data(), storage.size());
    writer.writeEndOfFile();
}

}  // namespace

class TestImport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void readsAListOfTensors();
    void convertsTheAuthorsLayout();
    void refusesAnythingButTensorsAndLists_data();
    void refusesAnythingButTensorsAndLists();

private:
    QTemporaryDir m_dir;
    Llama m_model{nullptr};
};

void TestImport::initTestCase() {
    QVERIFY(m_dir.isValid());
    const std::string dir = m_dir.filePath(QStringLiteral("tiny")).toStdString();
    make_model(dir, MakeModelOptions{"tiny", 3, DType::F32, 0});
    m_model = load_llama(dir, at::kCPU, at::kFloat);
}

void TestImport::readsAListOfTensors() {
    const std::vector<at::Tensor> list{at::randn({3, 4}), at::randn({5}).to(at::kHalf), at::randn({4, 6}).t(),
                                       at::randn({2, 2}).to(at::kBFloat16)};
    const QString path = m_dir.filePath(QStringLiteral("list.pt"));
    TorchSave().save(path, list);
    const auto tensors = read_torch_tensor_list(path.toStdString());
    QCOMPARE(tensors.size(), size_t(4));
    for (size_t i = 0; i < 4; ++i) {
        QVERIFY2(at::equal(tensors[i], list[i]), qPrintable(QString::number(i)));
        QCOMPARE(tensors[i].scalar_type(), list[i].scalar_type());
    }
}

void TestImport::convertsTheAuthorsLayout() {
    Adapter original = make_adapter(*m_model, AdapterConfig{16, 4, 8, 16.0}, 1);
    {
        torch::NoGradGuard no_grad;
        for (auto& item : original->named_parameters())
            item.value().add_(at::randn(item.value().sizes()) * 0.1);
    }
    std::vector<at::Tensor> list;  // [e_mem, (q.A, q.B, v.A, v.B) x L, e_rep, (k.A, k.B, v.A, v.B) x L]
    list.push_back(original->e_mem.detach().view({1, -1}));
    for (int64_t k = 0; k < m_model->config.n_layer; ++k) {
        auto& l = original->layer(k);
        for (const auto& t : {l.encoder_q->A, l.encoder_q->B, l.encoder_v->A, l.encoder_v->B})
            list.push_back(t.detach());
    }
    list.push_back(original->e_rep.detach());
    for (int64_t k = 0; k < m_model->config.n_layer; ++k) {
        auto& l = original->layer(k);
        for (const auto& t : {l.transfer_k->A, l.transfer_k->B, l.transfer_v->A, l.transfer_v->B})
            list.push_back(t.detach());
    }
    const QString path = m_dir.filePath(QStringLiteral("authors.pt"));
    TorchSave().save(path, list);

    Adapter imported = adapter_from_authors_list(read_torch_tensor_list(path.toStdString()), *m_model,
                                                 AdapterConfig{16, 4, 0, 16.0}, "authors.pt");
    QCOMPARE(imported->config.rank, int64_t(8));
    auto expected = original->named_parameters();
    for (const auto& item : imported->named_parameters()) {
        QVERIFY2(at::equal(item.value(), expected[item.key()]), item.key().c_str());
    }
    // One tensor short, or a transposed one, is explained.
    list.erase(list.begin());
    try {
        adapter_from_authors_list(list, *m_model, AdapterConfig{16, 4, 0, 16.0}, "x.pt");
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("holds 17 tensors")), e.what());
    }
}

void TestImport::refusesAnythingButTensorsAndLists_data() {
    QTest::addColumn<QByteArray>("pickle");
    QTest::addColumn<QString>("message");
    // os.system("echo hi"): GLOBAL, BINUNICODE, TUPLE1, REDUCE, STOP
    QTest::newRow("os.system") << QByteArray(
                                      "\x80\x02"
                                      "cos\nsystem\n"
                                      "X\x07\x00\x00\x00"
                                      "echo hi"
                                      "\x85"
                                      "R"
                                      ".",
                                      26)
                               << QStringLiteral("refers to os.system, which is refused");
    QTest::newRow("builtins.eval") << QByteArray(
                                          "\x80\x02"
                                          "cbuiltins\neval\n"
                                          "X\x01\x00\x00\x00"
                                          "1"
                                          "\x85"
                                          "R"
                                          ".",
                                          26)
                                   << QStringLiteral("builtins.eval");
    QTest::newRow("a dict") << QByteArray("\x80\x02}.", 4) << QStringLiteral("not a list of tensors");
    QTest::newRow("a list of numbers") << QByteArray(
                                              "\x80\x02](K\x01K\x02"
                                              "e.",
                                              10)
                                       << QStringLiteral("not a tensor");
    QTest::newRow("truncated") << QByteArray("\x80\x02](K\x01", 6) << QStringLiteral("ends early");
    QTest::newRow("unknown opcode") << QByteArray("\x80\x02\xff.", 4) << QStringLiteral("unsupported pickle opcode");
    // fuzz_pickle's findings: a list appended to itself (shared ownership leaked it), and lists
    // nested 100,000 deep (freed recursively); both are refused and freed at once.
    QTest::newRow("a list inside itself") << QByteArray(
                                                 "\x80\x02]q\x00"
                                                 "h\x00"
                                                 "a.",
                                                 9)
                                          << QStringLiteral("not a tensor");
    QByteArray deep("\x80\x02", 2);
    for (int i = 0; i < 100'000; ++i)
        deep += ']';
    for (int i = 0; i < 99'999; ++i)
        deep += 'a';
    QTest::newRow("lists 100,000 deep") << deep + '.' << QStringLiteral("not a tensor");
    // A tensor of 2^40 elements viewing one float with stride 0: it would be copied out in full.
    QTest::newRow("a tensor larger than its storage") << QByteArray(
                                                             "\x80\x02]("
                                                             "ctorch._utils\n_rebuild_tensor_v2\n"
                                                             "((X\x07\x00\x00\x00"
                                                             "storage"
                                                             "ctorch\nFloatStorage\n"
                                                             "X\x01\x00\x00\x00"
                                                             "0"
                                                             "X\x03\x00\x00\x00"
                                                             "cpu"
                                                             "K\x01tQ"
                                                             "K\x00"
                                                             "(\x8a\x06\x00\x00\x00\x00\x00\x01t"
                                                             "(K\x00t"
                                                             "\x89"
                                                             "ccollections\nOrderedDict\n)RtR"
                                                             "e.",
                                                             137)
                                                      << QStringLiteral("larger than its storage");
}

void TestImport::refusesAnythingButTensorsAndLists() {
    QFETCH(QByteArray, pickle);
    QFETCH(QString, message);
    const QString path = m_dir.filePath(QStringLiteral("evil.pt"));
    writeArchive(path, pickle.toStdString());
    try {
        read_torch_tensor_list(path.toStdString());
        QFAIL("expected a ModelError");
    } catch (const ModelError& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
    }
}

QTEST_GUILESS_MAIN(TestImport)
#include "test_import.moc"
