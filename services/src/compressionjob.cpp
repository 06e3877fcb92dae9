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

CompressionJobRun::CompressionJobRun(Compressor& compressor, storage::Database& db, int64_t document)
    : m_jobs(db),
      m_job(jobFor(compressor, db, document)),
      m_state(m_jobs.get(m_job)->state),
      m_run([&]() -> CompressionRun {
          if (m_state == JobState::Running)
              take(JobEvent::Recover);  // a program that was killed left it so
          if (m_state == JobState::Paused)
              take(JobEvent::Queue);
          take(JobEvent::Start);
          try {
              return CompressionRun(compressor, document);
          } catch (const std::exception& e) {
              take(JobEvent::Fail, e.what());
              throw;
          }
      }()) {
    m_progress.segments_total = m_run.outcome().segments_total;
}

void CompressionJobRun::take(JobEvent event, const std::string& error) {
    m_state = nextState(m_state, event);
    m_jobs.set_state(m_job, m_state, error);
}

bool CompressionJobRun::step(JobControl control) {
    if (m_state != JobState::Running)
        return false;
    try {
        if (m_run.finished()) {
            take(JobEvent::Finish);
            return false;
        }
        switch (control) {
            case JobControl::Run:
                break;
            case JobControl::Pause:
                take(JobEvent::Pause);
                return false;
            case JobControl::Cancel:
                take(JobEvent::Cancel);
                return false;
            case JobControl::Yield:
                take(JobEvent::Yield);
                return false;
        }
        m_progress = m_run.step();
        m_jobs.set_progress(m_job, m_progress.segments_done);
        return true;
    } catch (const std::exception& e) {
        try {
            take(JobEvent::Fail, e.what());
        } catch (const std::exception&) {
            // A full disk cannot record the failure either; the first error is the one to report.
        }
        throw;
    }
}

JobRun runCompressionJob(Compressor& compressor, storage::Database& db, int64_t document,
                         const std::function<void(const CompressionProgress&)>& progress,
                         const std::atomic<JobControl>* control) {
    CompressionJobRun job(compressor, db, document);
    while (job.step(control ? control->load() : JobControl::Run)) {
        if (progress)
            progress(job.progress());
    }
    return {job.state(), job.outcome()};
}

}  // namespace uio::services
