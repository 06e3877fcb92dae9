#include "uio/ingest/htmltext.h"

#include <QRegularExpression>
#include <QSet>

namespace uio::ingest {

namespace {

QString decodeEntities(const QString& text) {
    static const QHash<QString, QString> named{
        {QStringLiteral("amp"), QStringLiteral("&")},
        {QStringLiteral("lt"), QStringLiteral("<")},
        {QStringLiteral("gt"), QStringLiteral(">")},
        {QStringLiteral("quot"), QStringLiteral("\"")},
        {QStringLiteral("apos"), QStringLiteral("'")},
        {QStringLiteral("nbsp"), QStringLiteral(" ")},
        {QStringLiteral("mdash"), QStringLiteral("—")},
        {QStringLiteral("ndash"), QStringLiteral("–")},
        {QStringLiteral("hellip"), QStringLiteral("…")},
        {QStringLiteral("lsquo"), QStringLiteral("‘")},
        {QStringLiteral("rsquo"), QStringLiteral("’")},
        {QStringLiteral("ldquo"), QStringLiteral("“")},
        {QStringLiteral("rdquo"), QStringLiteral("”")},
        {QStringLiteral("copy"), QStringLiteral("©")},
        {QStringLiteral("shy"), QString()},
    };
    // The HTML 4 Latin-1 entities, U+00A0..U+00FF in order.
    static const QHash<QString, QString> latin1 = [] {
        const char* names =
            "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 "
            "acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml "
            "Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc "
            "Otilde "
            "Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig "
            "ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml "
            "divide "
            "oslash ugrave uacute ucirc uuml yacute thorn yuml";
        QHash<QString, QString> table;
        char16_t code = 0xA0;
        for (const QString& name : QString::fromLatin1(names).split(QLatin1Char(' ')))
            table.insert(name, QString(QChar(code++)));
        return table;
    }();
    static const QRegularExpression entity(QStringLiteral("&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});"));
    QString out;
    qsizetype last = 0;
    for (auto it = entity.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        out += text.mid(last, m.capturedStart() - last);
        const QString name = m.captured(1);
        if (name.startsWith(QLatin1Char('#'))) {
            bool ok = false;
            const uint code = name.at(1).toLower() == u'x' ? name.mid(2).toUInt(&ok, 16) : name.mid(1).toUInt(&ok, 10);
            out += ok && code > 0 && code <= 0x10FFFF ? QString::fromUcs4(reinterpret_cast<const char32_t*>(&code), 1)
                                                      : m.captured(0);
        } else {
            out += named.contains(name) ? named.value(name) : latin1.value(name, m.captured(0));
        }
        last = m.capturedEnd();
    }
    return out + text.mid(last);
}

const QSet<QString>& blockTags() {
    static const QSet<QString> tags{
        QStringLiteral("p"),       QStringLiteral("div"),        QStringLiteral("li"),
        QStringLiteral("ul"),      QStringLiteral("ol"),         QStringLiteral("blockquote"),
        QStringLiteral("section"), QStringLiteral("article"),    QStringLiteral("tr"),
        QStringLiteral("table"),   QStringLiteral("hr"),         QStringLiteral("pre"),
        QStringLiteral("header"),  QStringLiteral("footer"),     QStringLiteral("aside"),
        QStringLiteral("figure"),  QStringLiteral("figcaption"), QStringLiteral("dt"),
        QStringLiteral("dd"),      QStringLiteral("body"),       QStringLiteral("h1"),
        QStringLiteral("h2"),      QStringLiteral("h3"),         QStringLiteral("h4"),
        QStringLiteral("h5"),      QStringLiteral("h6"),         QStringLiteral("nav"),
        QStringLiteral("main")};
    return tags;
}

class Builder {
public:
    void text(const QString& raw) {
        QString t = decodeEntities(raw);
        if (m_pre == 0) {
            static const QRegularExpression space(QStringLiteral("\\s+"));
            t.replace(space, QStringLiteral(" "));
        }
        for (const QChar c : t) {
            const bool redundant = m_out.isEmpty() || m_out.back() == u' ' || m_out.back() == u'\n';
            if (c == u' ' && m_pre == 0 && redundant) {
                continue;
            }
            m_out += c;
        }
    }
    void lineBreak() {
        trimEnd();
        if (!m_out.isEmpty())
            m_out += QLatin1Char('\n');
    }
    void paragraphBreak() {
        trimEnd();
        if (m_out.isEmpty())
            return;
        while (!m_out.endsWith(QStringLiteral("\n\n")))
            m_out += QLatin1Char('\n');
    }
    qsizetype position() const { return m_out.size(); }
    QString finish() {
        trimEnd();
        while (m_out.endsWith(QLatin1Char('\n')))
            m_out.chop(1);
        return m_out;
    }
    QString since(qsizetype offset) const { return m_out.mid(offset).simplified(); }
    int m_pre = 0;

private:
    void trimEnd() {
        while (m_out.endsWith(QLatin1Char(' ')))
            m_out.chop(1);
    }
    QString m_out;
};

}  // namespace

HtmlText htmlToText(const QString& html) {
    HtmlText result;
    Builder out;
    static const QRegularExpression attributeId(QStringLiteral("\\bid\\s*=\\s*[\"']([^\"']*)[\"']"),
                                                QRegularExpression::CaseInsensitiveOption);
    QString skipUntil;  // a closing tag whose content is dropped (script, style, head)
    bool inTitle = false;
    qsizetype headingStart = -1;
    int headingLevel = 0;
    qsizetype i = 0;
    while (i < html.size()) {
        if (html.at(i) != u'<') {
            const qsizetype next = html.indexOf(QLatin1Char('<'), i);
            const QString chunk = html.mid(i, (next < 0 ? html.size() : next) - i);
            if (inTitle) {
                result.title += decodeEntities(chunk);
            } else if (skipUntil.isEmpty()) {
                out.text(chunk);
            }
            i = next < 0 ? html.size() : next;
            continue;
        }
        if (html.mid(i, 4) == QLatin1String("<!--")) {
            const qsizetype end = html.indexOf(QStringLiteral("-->"), i + 4);
            i = end < 0 ? html.size() : end + 3;
            continue;
        }
        if (html.mid(i, 9) == QLatin1String("<![CDATA[")) {
            const qsizetype end = html.indexOf(QStringLiteral("]]>"), i + 9);
            if (skipUntil.isEmpty())
                out.text(html.mid(i + 9, (end < 0 ? html.size() : end) - i - 9));
            i = end < 0 ? html.size() : end + 3;
            continue;
        }
        const qsizetype close = html.indexOf(QLatin1Char('>'), i);
        if (close < 0)
            break;  // a cut-off tag at the end
        const QString tag = html.mid(i + 1, close - i - 1);
        i = close + 1;
        if (tag.startsWith(u'!') || tag.startsWith(u'?'))
            continue;
        const bool closing = tag.startsWith(u'/');
        static const QRegularExpression nameRe(QStringLiteral("^/?\\s*([A-Za-z][A-Za-z0-9:_-]*)"));
        const QString name = nameRe.match(tag).captured(1).toLower().section(QLatin1Char(':'), -1);
        if (name.isEmpty())
            continue;

        if (!skipUntil.isEmpty()) {
            if (closing && name == skipUntil)
                skipUntil.clear();
            if (name == QLatin1String("title"))
                inTitle = !closing;
            continue;
        }
        if (!closing &&
            (name == QLatin1String("script") || name == QLatin1String("style") || name == QLatin1String("head"))) {
            if (!tag.endsWith(u'/'))
                skipUntil = name;
            continue;
        }
        if (name == QLatin1String("title")) {
            inTitle = !closing;
            continue;
        }
        if (!closing) {
            const auto id = attributeId.match(tag);
            if (id.hasMatch())
                result.anchors.insert(id.captured(1), out.position());
        }
        if (name == QLatin1String("br")) {
            out.lineBreak();
        } else if (name == QLatin1String("pre")) {
            out.paragraphBreak();
            out.m_pre += closing ? -1 : 1;
            if (out.m_pre < 0)
                out.m_pre = 0;
        } else if (blockTags().contains(name) || name == QLatin1String("td") || name == QLatin1String("th")) {
            const bool heading = name.size() == 2 && name.at(0) == u'h' && name.at(1).isDigit();
            if (name == QLatin1String("td") || name == QLatin1String("th")) {
                out.text(QStringLiteral(" "));
                continue;
            }
            out.paragraphBreak();
            if (heading && !closing) {
                headingStart = out.position();
                headingLevel = name.at(1).digitValue();
            } else if (heading && closing && headingStart >= 0) {
                const QString title = out.since(headingStart);
                if (!title.isEmpty())
                    result.headings << Section{title, headingLevel, headingStart};
                headingStart = -1;
            }
        }
    }
    result.text = out.finish();
    result.title = result.title.simplified();
    return result;
}

}  // namespace uio::ingest
