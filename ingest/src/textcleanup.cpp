#include "uio/ingest/textcleanup.h"

#include <QHash>
#include <QRegularExpression>

#include <algorithm>

namespace uio::ingest {

namespace {

// Ligatures (U+FB00..U+FB06) spelled out, odd spaces made plain, soft hyphens dropped.
QString normaliseCharacters(QString text) {
    for (qsizetype i = text.size() - 1; i >= 0; --i) {
        const char16_t c = text.at(i).unicode();
        if (c >= 0xFB00 && c <= 0xFB06) {
            text.replace(i, 1, QString(QChar(c)).normalized(QString::NormalizationForm_KC));
        } else if (c == 0x00AD) {
            text.remove(i, 1);
        } else if (c == 0x00A0 || c == 0x2009 || c == 0x2002 || c == 0x2003 || c == u'\t') {
            text[i] = QLatin1Char(' ');
        }
    }
    return text;
}

QString collapseSpaces(const QString& line) {
    static const QRegularExpression spaces(QStringLiteral(" {2,}"));
    return QString(line).replace(spaces, QStringLiteral(" ")).trimmed();
}

// A line that only numbers a page: "12", "- 12 -", "Page 12", "xii".
bool isPageNumber(const QString& line) {
    static const QRegularExpression number(QStringLiteral("^(page\\s+)?[-–— ]*([0-9]{1,5}|[ivxlcdm]{1,7})[-–— ]*$"),
                                           QRegularExpression::CaseInsensitiveOption);
    return number.match(line).hasMatch();
}

// Headers and footers usually differ only in their page number.
QString signature(const QString& line) {
    static const QRegularExpression digits(QStringLiteral("[0-9]+"));
    return QString(line).replace(digits, QStringLiteral("#")).toLower();
}

bool endsSentence(const QString& line) {
    if (line.isEmpty())
        return true;
    const QChar c = line.back();
    return c == u'.' || c == u'?' || c == u'!' || c == u':' || c == u'"' || c == u'”' || c == u'’' || c == u')';
}

}  // namespace

QString normaliseText(const QString& text) {
    QStringList lines = normaliseCharacters(text).split(QLatin1Char('\n'));
    QString out;
    int blank = 0;
    for (const QString& raw : lines) {
        const QString line = collapseSpaces(raw);
        if (line.isEmpty()) {
            ++blank;
            continue;
        }
        if (!out.isEmpty())
            out += blank > 0 ? QStringLiteral("\n\n") : QStringLiteral("\n");
        out += line;
        blank = 0;
    }
    return out;
}

CleanText cleanPages(const QStringList& rawPages) {
    // 1. Lines of every page, normalised.
    QList<QStringList> pages;
    for (const QString& page : rawPages) {
        QStringList lines;
        for (const QString& raw : normaliseCharacters(page).split(QLatin1Char('\n')))
            lines << collapseSpaces(raw);
        while (!lines.isEmpty() && lines.front().isEmpty())
            lines.removeFirst();
        while (!lines.isEmpty() && lines.back().isEmpty())
            lines.removeLast();
        pages << lines;
    }

    // 2. Running headers and footers: the first or last two lines of a page whose signature
    //    recurs on at least half of the pages (and on three or more).
    QHash<QString, int> counts;
    for (const QStringList& lines : pages) {
        QSet<QString> seen;
        for (int i = 0; i < lines.size(); ++i) {
            if (i < 2 || i >= lines.size() - 2)
                seen.insert(signature(lines[i]));
        }
        for (const QString& s : seen)
            ++counts[s];
    }
    const int threshold = std::max(3, static_cast<int>((pages.size() + 1) / 2));
    for (QStringList& lines : pages) {
        auto running = [&](const QString& line) {
            return isPageNumber(line) || counts.value(signature(line)) >= threshold;
        };
        for (int k = 0; k < 2 && !lines.isEmpty() && running(lines.front()); ++k)
            lines.removeFirst();
        for (int k = 0; k < 2 && !lines.isEmpty() && running(lines.back()); ++k)
            lines.removeLast();
    }

    // 3. Paragraphs: a blank line ends one; so does a short line that ends a sentence. Lines of a
    //    paragraph are joined with a space, a word hyphenated at the line end without one.
    //    "Short" is measured against the longest line of the whole document: the full width.
    qsizetype longest = 1;
    for (const QStringList& lines : pages) {
        for (const QString& line : lines) {
            longest = std::max(longest, line.size());
        }
    }
    CleanText result;
    QString& text = result.text;
    bool paragraphOpen = false;
    for (int p = 0; p < pages.size(); ++p) {
        const QStringList& lines = pages[p];
        PageSpan span{p + 1, text.size(), text.size()};
        bool spanStarted = false;
        for (int i = 0; i < lines.size(); ++i) {
            const QString& line = lines[i];
            if (line.isEmpty()) {
                paragraphOpen = false;
                continue;
            }
            if (paragraphOpen) {
                const bool hyphenated = text.size() >= 2 && text.back() == u'-' && text.at(text.size() - 2).isLetter();
                if (hyphenated && line.front().isLower()) {
                    text.chop(1);  // "exam-" + "ple" -> "example"
                    // The hyphen ended an earlier page; pages between it and this one (empty ones)
                    // end, and so begin, no later than the text now does.
                    for (auto it = result.pages.rbegin(); it != result.pages.rend() && it->end > text.size(); ++it) {
                        it->end = text.size();
                        it->begin = std::min(it->begin, it->end);
                    }
                } else {
                    text += QLatin1Char(' ');
                }
            } else if (!text.isEmpty()) {
                text += QStringLiteral("\n\n");
            }
            if (!spanStarted) {
                span.begin = text.size();
                spanStarted = true;
            }
            text += line;
            const bool shortLine = line.size() < longest * 3 / 4;
            paragraphOpen = !(shortLine && endsSentence(line));
        }
        span.end = text.size();
        if (!spanStarted)
            span.begin = span.end;
        result.pages << span;
    }
    return result;
}

}  // namespace uio::ingest
