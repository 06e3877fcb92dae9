// uio tokenize: text -> token ids with the model's SentencePiece tokenizer.

#include "command.h"
#include "options.h"
#include "uio/model/tokenizer.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QTextStream>

namespace uio::cli {

int runTokenize(const QStringList& args) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Print the token ids of a text (BOS first unless --no-bos)."));
    parser.addOption({QStringLiteral("model"), QStringLiteral("Model folder with tokenizer.model or tokenizer.json."),
                      QStringLiteral("dir")});
    parser.addOption({QStringLiteral("text"), QStringLiteral("The text."), QStringLiteral("text")});
    parser.addOption(
        {QStringLiteral("text-file"), QStringLiteral("A UTF-8 file with the text."), QStringLiteral("file")});
    parser.addOption({QStringLiteral("no-bos"), QStringLiteral("Do not put BOS first.")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print {\"ids\": [...], \"pieces\": [...]}.")});
    parse(parser, QStringLiteral("tokenize"), args);

    const QString text = parser.isSet(QStringLiteral("text-file"))
                             ? readTextFile(parser.value(QStringLiteral("text-file")))
                             : required(parser, QStringLiteral("text"));
    const QString dir = required(parser, QStringLiteral("model"));
    const auto found = model::Tokenizer::find_in(dir.toStdString());
    if (found.empty())
        throw std::runtime_error(dir.toStdString() + " has neither tokenizer.model nor tokenizer.json");
    const auto tokenizer = model::Tokenizer::load(found);
    const auto ids = tokenizer.encode(text.toStdString(), !parser.isSet(QStringLiteral("no-bos")));

    if (parser.isSet(QStringLiteral("json"))) {
        QJsonArray idArray, pieces;
        for (const int32_t id : ids) {
            idArray.append(id);
            pieces.append(QString::fromStdString(tokenizer.piece(id)));
        }
        printJson(QJsonDocument(QJsonObject{{QStringLiteral("ids"), idArray}, {QStringLiteral("pieces"), pieces}}));
        return 0;
    }
    QTextStream out(stdout);
    for (size_t i = 0; i < ids.size(); ++i) {
        out << (i ? " " : "") << ids[i];
    }
    out << '\n';
    return 0;
}

}  // namespace uio::cli
