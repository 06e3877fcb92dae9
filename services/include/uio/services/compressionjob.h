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
#include <string>

namespace uio::services {

enum class JobEvent { Queue, Start, Finish, Yield, Pause, Cancel, Fail, Recover };

// The state after `event`; std::logic_error for an event that cannot happen in `from`.
storage::JobState nextState(storage::JobState from, JobEvent event);

// The job a document's compression runs as: its unfinished one, or a new queued one. Throws
// std::runtime_error when the document is no longer in the library.
int64_t jobFor(Compressor& compressor, storage::Database& db, int64_t document);

// A document's compression as its job, a batch at a time: takes the job (jobFor) and starts it,
// then each step() records the progress or the transition that ends the run. A failure is
// recorded as failed, when the disk still allows it, and rethrown.
class CompressionJobRun {
public:
    CompressionJobRun(Compressor& compressor, storage::Database& db, int64_t document);

    // Encodes the next batch, unless `control` stops the job first or nothing is left; false
    // once the job is no longer running (state() says how it ended: done, paused, cancelled, or
    // queued after a Yield).
    bool step(JobControl control);
    storage::JobState state() const { return m_state; }
    const CompressionProgress& progress() const { return m_progress; }  // after the last batch
    const CompressionOutcome& outcome() const { return m_run.outcome(); }

private:
    void take(JobEvent event, const std::string& error = {});

    storage::Jobs m_jobs;
    int64_t m_job = 0;
    storage::JobState m_state = storage::JobState::Queued;
    CompressionRun m_run;
    CompressionProgress m_progress;
};

// The whole job at once (uio compress): steps until it stops; `progress` after every batch.
struct JobRun {
    storage::JobState state = storage::JobState::Done;
    CompressionOutcome outcome;
};
JobRun runCompressionJob(Compressor& compressor, storage::Database& db, int64_t document,
                         const std::function<void(const CompressionProgress&)>& progress,
                         const std::atomic<JobControl>* control);

}  // namespace uio::services
