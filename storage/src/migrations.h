// The schema, as numbered migrations. Migration n takes a database at user_version n-1 to n in
// one transaction. Never edit a released migration: add the next one.
#pragma once

#include "uio/storage/database.h"

namespace uio::storage {

constexpr int kSchemaVersion = 7;

// Applies the migrations after the database's version, up to `target`.
void migrate(Database& db, int target = kSchemaVersion);

}  // namespace uio::storage
