// An ingested document as the library stores it: text, sections and page map (as JSON), metadata.
// For the command line and LibraryService; ui/ has no use for it (it needs storage/ headers).
#pragma once

#include "uio/app/document.h"
#include "uio/storage/documents.h"

namespace uio::app {

storage::NewDocument libraryRow(const IngestedDocument& document, const QString& sourcePath);

}  // namespace uio::app
