// Compression jobs, adapters and training runs: the state that lets work resume after a restart.
// Borrows a Database; one thread.
#pragma once

#include "uio/storage/database.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uio::storage {

// A compression job's state and a training run's. Which state may follow which is
// services/jobstate.h's; the names ("queued", ...) exist only in the SQL and where it is read.
enum class JobState { Queued, Running, Paused, Done, Failed, Cancelled };
enum class RunState { Running, Paused, Done, Failed, Cancelled };

// The name stored for a state; a name no program writes (a damaged file) reads as Failed.
const char* state_name(JobState state);
const char* state_name(RunState state);
JobState job_state_named(const std::string& name);
RunState run_state_named(const std::string& name);

struct CompressionJob {
    int64_t id = 0;
    int64_t document_id = 0;
    std::optional<int64_t> key_id;
    JobState state = JobState::Queued;
    int64_t segments_done = 0;
    int64_t segments_total = 0;
    std::string error;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    std::optional<int64_t> finished_at;
};

class Jobs {
public:
    explicit Jobs(Database& db) : m_db(db) {}

    int64_t enqueue(int64_t document_id, int64_t key_id, int64_t segments_total);
    std::optional<CompressionJob> get(int64_t id);
    // Jobs not finished (queued, running, paused), oldest first.
    std::vector<CompressionJob> pending();
    void set_state(int64_t id, JobState state, const std::string& error = {});
    void set_progress(int64_t id, int64_t segments_done);
    // After a crash: jobs left "running" go back to "queued".
    int requeue_interrupted();

private:
    Database& m_db;
};

struct AdapterRecord {
    int64_t id = 0;
    std::string name;
    std::string path;
    std::string fingerprint;
    std::string base_fingerprint;
    int64_t created_at = 0;
};

struct TrainingRun {
    int64_t id = 0;
    std::string name;
    std::string config_json;
    RunState status = RunState::Running;
    std::string checkpoint_path;
    std::optional<int64_t> adapter_id;
    std::string error;
    int64_t created_at = 0;
    int64_t updated_at = 0;
};

struct TrainingPoint {
    int64_t step = 0;
    std::string kind;  // "train" (loss), "eval" (perplexity with memories) or "eval_plain" (without)
    double value = 0.0;
};

class Training {
public:
    explicit Training(Database& db) : m_db(db) {}

    int64_t add_adapter(const std::string& name, const std::string& path, const std::string& fingerprint,
                        const std::string& base_fingerprint);
    std::vector<AdapterRecord> adapters();
    void rename_adapter(int64_t id, const std::string& name);

    int64_t start_run(const std::string& name, const std::string& config_json);
    std::optional<TrainingRun> run(int64_t id);
    std::vector<TrainingRun> runs();
    void set_status(int64_t id, RunState status, const std::string& error = {});
    void set_checkpoint(int64_t id, const std::string& path);
    void set_adapter(int64_t id, int64_t adapter_id);
    void add_point(int64_t run_id, const TrainingPoint& point);  // replaces a point of the same step and kind
    std::vector<TrainingPoint> points(int64_t run_id);

private:
    Database& m_db;
};

}  // namespace uio::storage
