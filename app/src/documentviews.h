// The library's side of sources and the document pane: sources of a message from their JSON,
// passages found by a search, a document opened at a place. On the library's worker thread.
#pragma once

#include "uio/app/sources.h"
#include "uio/storage/database.h"

#include <string>

namespace uio::app {

QList<SourceRow> sourcesFromJson(const std::string& json);
QList<SourceRow> searchPassages(storage::Database& db, const QString& query, int limit);
// Throws std::runtime_error when the document is gone.
DocumentView viewDocument(storage::Database& db, qint64 id, qint64 begin, qint64 end, int page);

}  // namespace uio::app
