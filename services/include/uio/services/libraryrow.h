// An ingested document as the library stores it: text, sections and page map (as JSON), metadata.
// For `uio ingest` and LibraryService; built only with ingest/ (UIO_BUILD_DESKTOP).
#pragma once

#include "uio/ingest/document.h"
#include "uio/storage/documents.h"

namespace uio::services {

storage::NewDocument libraryRow(const ingest::IngestedDocument& document, const QString& sourcePath);

}  // namespace uio::services
