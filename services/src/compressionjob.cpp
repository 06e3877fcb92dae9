#include "uio/services/compressionjob.h"

#include "uio/storage/documents.h"
#include "uio/storage/memory_cache.h"

#include <stdexcept>
#include <string>

namespace uio::services {

using storage::JobState;

storage::JobState nextState(JobState from, JobEvent event) {
    switch (from) {
        case JobState::Queued:
            if (event == JobEvent::Start)
                return JobState::Running;
            if (event == JobEvent::Pause)
                return JobState::Paused;
            if (event == JobEvent::Cancel)
                return JobState::Cancelled;
            break;
        case JobState::Running:
            switch (event) {
                case JobEvent::Finish:
                    return JobState::Done;
                case JobEvent::Yield:
                case JobEvent::Recover:
                    return JobState::Queued;
                case JobEvent::Pause:
                    return JobState::Paused;
                case JobEvent::Cancel:
                    return JobState::Cancelled;
                case JobEvent::Fail:
                    return JobState::Failed;
                default:
                    break;
            }
            break;
        case JobState::Paused:
            if (event == JobEvent::Queue)
                return JobState::Queued;
            if (event == JobEvent::Cancel)
                return JobState::Cancelled;
            break;
        case JobState::Done:
        case JobState::Failed:
        case JobState::Cancelled:
            break;
    }
    throw std::logic_error(std::string("a compression job that is ") + storage::state_name(from) +
                           " cannot take that step");
}

int64_t jobFor(Compressor& compressor, storage::Database& db, int64_t document) {
    storage::Jobs jobs(db);
    for (const auto& pending : jobs.pending()) {
        if (pending.document_id == document)
            return pending.id;
    }
    const auto row = storage::Documents(db).get(document);
    if (!row)
        throw std::runtime_error("document " + std::to_string(document) + " is no longer in the library");
    return jobs.enqueue(document, storage::MemoryCache(db).key_id(compressor.key_for(row->sha256)), 0);
}

JobRun runCompressionJob(Compressor& compressor, storage::Database& db, int64_t document,
                         const std::function<void(const CompressionProgress&)>& progress,
                         const std::atomic<JobControl>* control) {
    storage::Jobs jobs(db);
    const int64_t job = jobFor(compressor, db, document);
    JobState state = jobs.get(job)->state;
    const auto step = [&](JobEvent event, const std::string& error = {}) {
        state = nextState(state, event);
        jobs.set_state(job, state, error);
    };
    if (state == JobState::Running)
        step(JobEvent::Recover);  // a program that was killed left it so
    if (state == JobState::Paused)
        step(JobEvent::Queue);
    step(JobEvent::Start);

    JobRun run;
    try {
        run.outcome = compressor.run(
            document,
            [&](const CompressionProgress& p) {
                jobs.set_progress(job, p.segments_done);
                if (progress)
                    progress(p);
            },
            control);
    } catch (const std::exception& e) {
        try {
            step(JobEvent::Fail, e.what());
        } catch (const std::exception&) {
            // A full disk cannot record the failure either; the first error is the one to report.
        }
        throw;
    }
    switch (run.outcome.status) {
        case CompressionOutcome::Status::Done:
            step(JobEvent::Finish);
            break;
        case CompressionOutcome::Status::Paused:
            step(JobEvent::Pause);
            break;
        case CompressionOutcome::Status::Cancelled:
            step(JobEvent::Cancel);
            break;
        case CompressionOutcome::Status::Yielded:
            step(JobEvent::Yield);
            break;
    }
    run.state = state;
    return run;
}

}  // namespace uio::services
