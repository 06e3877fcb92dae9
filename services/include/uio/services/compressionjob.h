// The life of a compression job, in one place for the desktop application and `uio compress`:
//
//   queued --Start--> running --Finish--> done
//     ^  ^               |  --Pause---> paused --Queue--> queued
//     |  +----Yield------+  --Cancel--> cancelled
//     |                     --Fail----> failed
//     +-------Recover------ running (left so by a program that was killed)
//
// A queued or paused job can be paused or cancelled before it runs. Done, failed and cancelled
// jobs stay as they are: compressing the document again makes a new job.
#pragma once

#include "uio/services/compressor.h"
#include "uio/storage/database.h"
#include "uio/storage/jobs.h"

#include <atomic>
#include <functional>

namespace uio::services {

enum class JobEvent { Queue, Start, Finish, Yield, Pause, Cancel, Fail, Recover };

// The state after `event`; std::logic_error for an event that cannot happen in `from`.
storage::JobState nextState(storage::JobState from, JobEvent event);

// The job a document's compression runs as: its unfinished one, or a new queued one. Throws
// std::runtime_error when the document is no longer in the library.
int64_t jobFor(Compressor& compressor, storage::Database& db, int64_t document);

// Compresses `document` as its job: takes the job (jobFor), records every transition and the
// progress, and runs the compressor until it is done or `control` stops it between batches.
// Returns the state the job was left in (done, paused, cancelled, or queued after a Yield). A
// failure is recorded as failed, when the disk still allows it, and rethrown.
struct JobRun {
    storage::JobState state = storage::JobState::Done;
    CompressionOutcome outcome;
};
JobRun runCompressionJob(Compressor& compressor, storage::Database& db, int64_t document,
                         const std::function<void(const CompressionProgress&)>& progress,
                         const std::atomic<JobControl>* control);

}  // namespace uio::services
