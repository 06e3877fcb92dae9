// uio-benchreport: turns `uio bench` JSON lines into Markdown tables (stdout) and PNG plots
// (Qt Charts, drawn offscreen): time and peak memory against the context length for UIO and full
// attention, compression time against the document length, training speed and memory against T;
// and `uio experiment stories` lines: the gap to full context that memory closes against the
// samples trained on.
//   uio-benchreport --plots DIR RESULTS.jsonl...

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QMap>
#include <QTextStream>
#include <QValueAxis>

#include <algorithm>
#include <cstdio>
#include <initializer_list>

namespace {

QString fixed(double value, int decimals = 0) {
    return QString::number(value, 'f', decimals);
}

QString percent(double fraction, int decimals = 0) {
    return fixed(100.0 * fraction, decimals) + QStringLiteral(" %");
}

QString gigabytes(double bytes) {
    return fixed(bytes / 1e9, 2) + QStringLiteral(" GB");
}

QString what(const QJsonObject& o) {
    const QJsonObject model = o[QStringLiteral("model")].toObject();
    QString text = o[QStringLiteral("machine")].toObject()[QStringLiteral("device_name")].toString();
    if (!model.isEmpty())
        text += QStringLiteral(", %1 layers × %2")
                    .arg(model[QStringLiteral("n_layer")].toInt())
                    .arg(model[QStringLiteral("n_embd")].toInt());
    if (o.contains(QStringLiteral("dtype")))
        text += QStringLiteral(", ") + o[QStringLiteral("dtype")].toString();
    return text;
}

QAbstractAxis* axis(bool log, double base) {
    if (log) {
        auto* logarithmic = new QLogValueAxis;
        logarithmic->setBase(base);
        logarithmic->setLabelFormat(QStringLiteral("%g"));
        return logarithmic;
    }
    auto* linear = new QValueAxis;
    linear->setLabelFormat(QStringLiteral("%g"));
    return linear;
}

// A chart of series against a shared x axis, saved as a PNG. Log-log shows linear growth as a
// straight line of slope 1, whatever the range.
struct Plot {
    QChart* chart = new QChart;
    QAbstractAxis* x = nullptr;
    QAbstractAxis* y = nullptr;
    bool logY = false;
    double low = 1e300, high = 0.0;

    Plot(const QString& title, const QString& xTitle, const QString& yTitle, bool logX, bool logScaleY = false)
        : logY(logScaleY) {
        chart->setTitle(title);
        x = axis(logX, 2.0);  // context lengths double
        x->setTitleText(xTitle);
        y = axis(logY, 10.0);
        y->setTitleText(yTitle);
        chart->addAxis(x, Qt::AlignBottom);
        chart->addAxis(y, Qt::AlignLeft);
    }

    void add(const QString& name, const QList<QPointF>& points) {
        if (points.isEmpty())
            return;
        auto* series = new QLineSeries;
        series->setName(name);
        series->setPointsVisible(true);
        series->append(points);
        chart->addSeries(series);
        series->attachAxis(x);
        series->attachAxis(y);
        for (const QPointF& p : points) {
            low = std::min(low, p.y());
            high = std::max(high, p.y());
        }
        if (logY) {
            y->setRange(low / 1.5, high * 1.5);
        } else {
            auto* axis = static_cast<QValueAxis*>(y);
            axis->setRange(0.0, high * 1.1);
            axis->applyNiceNumbers();
        }
    }

    bool save(const QString& path) {
        QChartView view(chart);
        view.setRenderHint(QPainter::Antialiasing);
        view.resize(760, 440);
        return view.grab().save(path);
    }
};

QList<QPointF> pointsOf(const QJsonArray& rows, const QString& x, const QString& y, double scale = 1.0) {
    QList<QPointF> points;
    for (const auto& value : rows) {
        const QJsonObject row = value.toObject();
        if (row.contains(y))
            points << QPointF(row[x].toDouble(), row[y].toDouble() * scale);
    }
    return points;
}

void table(QTextStream& out, std::initializer_list<const char*> columns, const QList<QStringList>& rows) {
    QStringList header;
    for (const char* column : columns)
        header << QString::fromUtf8(column);
    out << "| " << header.join(QStringLiteral(" | ")) << " |\n|" << QStringLiteral("---|").repeated(header.size())
        << '\n';
    for (const QStringList& row : rows)
        out << "| " << row.join(QStringLiteral(" | ")) << " |\n";
    out << '\n';
}

}  // namespace

int main(int argc, char* argv[]) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");  // plots only: no window is shown
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Markdown tables and PNG plots from uio bench JSON lines."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("plots"), QStringLiteral("Folder for the PNG plots."), QStringLiteral("dir")});
    parser.addPositionalArgument(QStringLiteral("results"), QStringLiteral("JSON lines files from uio bench."));
    parser.process(app);
    const QString plots = parser.value(QStringLiteral("plots"));
    if (parser.positionalArguments().isEmpty() || plots.isEmpty()) {
        std::fprintf(stderr, "usage: uio-benchreport --plots DIR RESULTS.jsonl...\n");
        return 2;
    }
    QDir().mkpath(plots);
    QList<QJsonObject> all;
    for (const QString& path : parser.positionalArguments()) {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "uio-benchreport: cannot read %s\n", qPrintable(path));
            return 1;
        }
        for (const QByteArray& line : file.readAll().split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (!o.isEmpty())
                all << o;
        }
    }
    QTextStream out(stdout);
    auto benches = [&](const char* name) {
        QList<QJsonObject> found;
        for (const QJsonObject& o : all) {
            if (o[QStringLiteral("bench")].toString() == QLatin1String(name))
                found << o;
        }
        return found;
    };

    QList<QStringList> rows;
    for (const QJsonObject& o : benches("generate")) {
        rows << QStringList{what(o),
                            fixed(o[QStringLiteral("gemm_gflops")].toDouble()) + QStringLiteral(" GFLOP/s"),
                            fixed(o[QStringLiteral("prefill_tokens_per_s")].toDouble()),
                            percent(o[QStringLiteral("prefill_fraction_of_gemm")].toDouble()),
                            fixed(o[QStringLiteral("copy_gbps")].toDouble(), 1) + QStringLiteral(" GB/s"),
                            fixed(o[QStringLiteral("decode_tokens_per_s")].toDouble(), 1),
                            percent(o[QStringLiteral("decode_fraction_of_copy")].toDouble())};
    }
    if (!rows.isEmpty()) {
        out << "### Generation (`uio bench generate`)\n\n";
        table(out,
              {"machine, model, dtype", "matmul ceiling", "prefill tokens/s", "of ceiling", "copy rate",
               "decode tokens/s", "of copy rate"},
              rows);
    }

    for (const QJsonObject& o : benches("compress-documents")) {
        rows.clear();
        const QJsonArray results = o[QStringLiteral("results")].toArray();
        for (const auto& v : results) {
            const QJsonObject r = v.toObject();
            rows << QStringList{fixed(r[QStringLiteral("tokens")].toDouble()),
                                fixed(r[QStringLiteral("seconds")].toDouble(), 2),
                                fixed(r[QStringLiteral("tokens_per_s")].toDouble()),
                                percent(r[QStringLiteral("fraction_of_gemm")].toDouble())};
        }
        out << "### Compression against the document length (`uio bench compress --sizes`)\n\n"
            << what(o)
            << QStringLiteral(", matmul ceiling %1 GFLOP/s. Flat tokens/s: the cost grows linearly.\n\n")
                   .arg(fixed(o[QStringLiteral("gemm_gflops")].toDouble()));
        table(out, {"document tokens", "seconds", "tokens/s", "of matmul ceiling"}, rows);
        Plot plot(QStringLiteral("Compression time against document length"), QStringLiteral("document tokens"),
                  QStringLiteral("seconds"), false);
        plot.add(what(o), pointsOf(results, QStringLiteral("tokens"), QStringLiteral("seconds")));
        plot.save(plots + QStringLiteral("/compress-linear.png"));
        out << "![Compression time against document length](plots/compress-linear.png)\n\n";
    }

    const QList<QJsonObject> memory = benches("memory");
    if (!memory.isEmpty()) {
        Plot time(QStringLiteral("Time to take in the context"), QStringLiteral("context tokens"),
                  QStringLiteral("seconds"), true, true);
        Plot peak(QStringLiteral("Peak memory"), QStringLiteral("context tokens"), QStringLiteral("GB"), true);
        out << "### Context length: UIO memory against full attention (`uio bench memory`)\n\n"
            << "UIO: every full segment compressed, then the tail and 16 answer tokens with the memories in front. "
               "Full attention: the whole context as one prompt. Peak: the process's high-water mark (RAM) or the "
               "GPU memory in use.\n\n";
        rows.clear();
        for (const QJsonObject& o : memory) {
            const QString mode = o[QStringLiteral("mode")].toString() == QLatin1String("uio")
                                     ? QStringLiteral("UIO")
                                     : QStringLiteral("full attention");
            const QJsonArray results = o[QStringLiteral("results")].toArray();
            for (const auto& v : results) {
                const QJsonObject r = v.toObject();
                rows << QStringList{mode, fixed(r[QStringLiteral("context")].toDouble()),
                                    r.contains(QStringLiteral("failed"))
                                        ? QStringLiteral("fails: ") + r[QStringLiteral("failed")].toString()
                                        : fixed(r[QStringLiteral("seconds")].toDouble(), 2),
                                    r.contains(QStringLiteral("failed"))
                                        ? QString()
                                        : gigabytes(r[QStringLiteral("peak_bytes")].toDouble()),
                                    r.contains(QStringLiteral("failed"))
                                        ? QString()
                                        : fixed(r[QStringLiteral("decode_tokens_per_s")].toDouble(), 1)};
            }
            time.add(mode, pointsOf(results, QStringLiteral("context"), QStringLiteral("seconds")));
            peak.add(mode, pointsOf(results, QStringLiteral("context"), QStringLiteral("peak_bytes"), 1e-9));
        }
        out << what(memory.front()) << "\n\n";
        table(out, {"mode", "context tokens", "seconds", "peak memory", "decode tokens/s"}, rows);
        time.save(plots + QStringLiteral("/context-time.png"));
        peak.save(plots + QStringLiteral("/context-memory.png"));
        out << "![Time against context length](plots/context-time.png)\n"
            << "![Peak memory against context length](plots/context-memory.png)\n\n";
    }

    const QList<QJsonObject> train = benches("train");
    if (!train.isEmpty()) {
        Plot peak(QStringLiteral("Training: peak memory against T"), QStringLiteral("segments per sample T"),
                  QStringLiteral("GB"), false);
        out << "### Training against segments per sample (`uio bench train`)\n\n";
        rows.clear();
        for (const QJsonObject& o : train) {
            const QString setting =
                QStringLiteral("l = %1, m = %2, r = %3, S = %4%5")
                    .arg(o[QStringLiteral("segment_length")].toInt())
                    .arg(o[QStringLiteral("memory_tokens")].toInt())
                    .arg(o[QStringLiteral("rank")].toInt())
                    .arg(o[QStringLiteral("window")].toInt())
                    .arg(o[QStringLiteral("recompute")].toBool() ? QStringLiteral(", recompute") : QString());
            const QJsonArray results = o[QStringLiteral("results")].toArray();
            for (const auto& v : results) {
                const QJsonObject r = v.toObject();
                rows << QStringList{setting, fixed(r[QStringLiteral("segments")].toDouble()),
                                    fixed(r[QStringLiteral("tokens_per_s")].toDouble()),
                                    percent(r[QStringLiteral("fraction_of_gemm")].toDouble()),
                                    gigabytes(r[QStringLiteral("peak_bytes")].toDouble())};
            }
            peak.add(setting, pointsOf(results, QStringLiteral("segments"), QStringLiteral("peak_bytes"), 1e-9));
        }
        out << what(train.front()) << "\n\n";
        table(out, {"setting", "T", "tokens/s", "of matmul ceiling", "peak memory"}, rows);
        peak.save(plots + QStringLiteral("/train-memory.png"));
        out << "![Training peak memory against T](plots/train-memory.png)\n\n";
    }

    rows.clear();
    for (const QJsonObject& o : benches("chat")) {
        for (const auto& v : o[QStringLiteral("results")].toArray()) {
            const QJsonObject r = v.toObject();
            // Runs with --copy-memories time the cached path only.
            const bool scratch = r.contains(QStringLiteral("first_token_from_scratch_s"));
            const QString inWindow = r.contains(QStringLiteral("segments_in_window"))
                                         ? QStringLiteral("%1 of %2 + %3 passages")
                                               .arg(r[QStringLiteral("segments_in_window")].toInteger())
                                               .arg(r[QStringLiteral("segments")].toInteger())
                                               .arg(r[QStringLiteral("passages_in_window")].toInteger())
                                         : QStringLiteral("—");
            rows << QStringList{
                what(o),
                fixed(r[QStringLiteral("tokens")].toDouble()),
                inWindow,
                scratch ? fixed(r[QStringLiteral("first_token_from_scratch_s")].toDouble(), 2) : QStringLiteral("—"),
                fixed(r[QStringLiteral("first_token_cached_s")].toDouble(), 2),
                scratch ? fixed(r[QStringLiteral("speedup")].toDouble(), 1) + QStringLiteral("x")
                        : QStringLiteral("—")};
        }
    }
    if (!rows.isEmpty()) {
        out << "### First answer token: cached memories against compressing first (`uio bench chat`)\n\n";
        table(out,
              {"machine, model, dtype", "document tokens", "segments in window", "from scratch, s", "cached, s",
               "speed-up"},
              rows);
    }

    rows.clear();
    for (const QJsonObject& o : benches("search")) {
        rows << QStringList{fixed(o[QStringLiteral("approximate_tokens")].toDouble()),
                            fixed(o[QStringLiteral("passages")].toDouble()),
                            fixed(o[QStringLiteral("index_to_text")].toDouble(), 2) + QStringLiteral("x"),
                            fixed(o[QStringLiteral("add_and_index_s")].toDouble(), 2),
                            fixed(o[QStringLiteral("search_ms_p50")].toDouble(), 2),
                            fixed(o[QStringLiteral("search_ms_p99")].toDouble(), 2)};
    }
    if (!rows.isEmpty()) {
        out << "### Passage index (`uio bench search`)\n\n";
        table(out, {"library tokens", "passages", "index / text", "add and index, s", "search p50, ms", "p99, ms"},
              rows);
    }

    // `uio experiment stories`: the share of the gap to full context that memory closes, against
    // the samples trained on, held-out and training streams apart, one series per shape.
    QList<QJsonObject> stories;
    for (const QJsonObject& o : all) {
        if (o[QStringLiteral("experiment")].toString() == QLatin1String("stories"))
            stories << o;
    }
    if (!stories.isEmpty()) {
        rows.clear();
        QMap<QString, QList<QPointF>> heldout, seen;
        for (const QJsonObject& o : stories) {
            const QString shape = QStringLiteral("%1x r%2")
                                      .arg(o[QStringLiteral("segment_length")].toInt() /
                                           std::max(1, o[QStringLiteral("memory_tokens")].toInt()))
                                      .arg(o[QStringLiteral("rank")].toInt());
            const double samples = o[QStringLiteral("steps")].toDouble() * o[QStringLiteral("accumulation")].toDouble();
            const QJsonObject first = o[QStringLiteral("trained")].toArray().first().toObject();
            const QJsonArray interval = first[QStringLiteral("gap_closed_95")].toArray();
            rows << QStringList{
                o[QStringLiteral("model")].toString(),
                shape + (o[QStringLiteral("compensate")].toBool(true) ? QString() : QStringLiteral(", uncompensated")),
                fixed(o[QStringLiteral("train_streams")].toDouble()),
                QStringLiteral("%1 × %2")
                    .arg(o[QStringLiteral("steps")].toInt())
                    .arg(o[QStringLiteral("accumulation")].toInt()),
                QString::number(o[QStringLiteral("learning_rate")].toDouble()),
                QString::number(o[QStringLiteral("trained")].toArray().size()),
                fixed(first[QStringLiteral("ppl_alone")].toDouble(), 2),
                fixed(first[QStringLiteral("ppl_memory")].toDouble(), 2),
                fixed(first[QStringLiteral("ppl_full")].toDouble(), 2),
                QStringLiteral("%1 (%2 to %3)")
                    .arg(percent(o[QStringLiteral("gap_closed_mean")].toDouble(), 1),
                         percent(interval.at(0).toDouble(), 1), percent(interval.at(1).toDouble(), 1)),
                percent(o[QStringLiteral("train_gap_closed_mean")].toDouble(), 1),
                first[QStringLiteral("name_p_memory")].isDouble()
                    ? fixed(first[QStringLiteral("name_p_memory")].toDouble(), 3)
                    : QStringLiteral("—")};
            // A series per recipe: the same model, shape, corpus, learning rate and samples per step.
            const QString recipe =
                QStringLiteral("%1 %2, %3 streams, lr %4 × %5%6")
                    .arg(o[QStringLiteral("model")].toString(), shape)
                    .arg(o[QStringLiteral("train_streams")].toInt())
                    .arg(o[QStringLiteral("learning_rate")].toDouble())
                    .arg(o[QStringLiteral("accumulation")].toInt())
                    .arg(o[QStringLiteral("compensate")].toBool(true) ? QString() : QStringLiteral(", uncompensated"));
            heldout[recipe] << QPointF(samples, 100.0 * o[QStringLiteral("gap_closed_mean")].toDouble());
            seen[recipe] << QPointF(samples, 100.0 * o[QStringLiteral("train_gap_closed_mean")].toDouble());
        }
        out << "### What memory buys on real text (`uio experiment stories`)\n\n";
        table(out,
              {"model", "memory x, rank r", "training streams", "steps × samples", "lr", "seeds", "ppl alone",
               "ppl with memory", "ppl full context", "gap closed, held out: mean over seeds (95 %, first seed)",
               "on training streams", "name p with memory"},
              rows);
        Plot plot(QStringLiteral("Gap to full context closed by memory"), QStringLiteral("samples trained on"),
                  QStringLiteral("% of the log-perplexity gap"), true);
        for (auto it = heldout.begin(); it != heldout.end(); ++it) {
            if (it.value().size() < 2)
                continue;  // a single run is a row of the table, not a curve
            auto sorted = [](QList<QPointF> points) {
                std::sort(points.begin(), points.end(),
                          [](const QPointF& a, const QPointF& b) { return a.x() < b.x(); });
                return points;
            };
            plot.add(QStringLiteral("held out: ") + it.key(), sorted(it.value()));
            plot.add(QStringLiteral("trained on: ") + it.key(), sorted(seen[it.key()]));
        }
        plot.save(plots + QStringLiteral("/stories-gap.png"));
        out << "![Gap closed against samples trained on](plots/stories-gap.png)\n\n";
    }

    rows.clear();
    for (const QJsonObject& o : benches("storage")) {
        for (const auto& v : o[QStringLiteral("results")].toArray()) {
            const QJsonObject r = v.toObject();
            rows << QStringList{fixed(r[QStringLiteral("segment_mib")].toDouble()) + QStringLiteral(" MiB"),
                                fixed(r[QStringLiteral("cache_write_mb_s")].toDouble()),
                                fixed(r[QStringLiteral("cache_read_mb_s")].toDouble()),
                                fixed(r[QStringLiteral("file_write_mb_s")].toDouble()),
                                fixed(r[QStringLiteral("file_read_mb_s")].toDouble())};
        }
    }
    if (!rows.isEmpty()) {
        out << "### Memory cache on disk (`uio bench storage`), MB/s\n\n";
        table(out, {"segment", "cache write", "cache read", "plain file write", "plain file read"}, rows);
    }
    return 0;
}
