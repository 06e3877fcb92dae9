#include "uio/storage/jobs.h"

#include "uio/storage/library.h"
#include "uio/storage/statement.h"

namespace uio::storage {

namespace {

constexpr std::pair<JobState, const char*> kJobStateNames[] = {
    {JobState::Queued, "queued"}, {JobState::Running, "running"}, {JobState::Paused, "paused"},
    {JobState::Done, "done"},     {JobState::Failed, "failed"},   {JobState::Cancelled, "cancelled"},
};
constexpr std::pair<RunState, const char*> kRunStateNames[] = {
    {RunState::Running, "running"}, {RunState::Paused, "paused"},       {RunState::Done, "done"},
    {RunState::Failed, "failed"},   {RunState::Cancelled, "cancelled"},
};

template <typename State, size_t N>
const char* name_of(const std::pair<State, const char*> (&names)[N], State state) {
    for (const auto& [s, name] : names) {
        if (s == state)
            return name;
    }
    return "failed";  // not reached: every state is named
}

template <typename State, size_t N>
State named(const std::pair<State, const char*> (&names)[N], const std::string& name) {
    for (const auto& [state, n] : names) {
        if (name == n)
            return state;
    }
    return State::Failed;
}

constexpr const char* kJobColumns =
    "id, document_id, key_id, state, segments_done, segments_total, error, created_at, updated_at, finished_at";

CompressionJob read_job(const Statement& row) {
    CompressionJob job;
    job.id = row.column_int(0);
    job.document_id = row.column_int(1);
    if (!row.is_null(2))
        job.key_id = row.column_int(2);
    job.state = job_state_named(row.column_text(3));
    job.segments_done = row.column_int(4);
    job.segments_total = row.column_int(5);
    job.error = row.column_text(6);
    job.created_at = row.column_int(7);
    job.updated_at = row.column_int(8);
    if (!row.is_null(9))
        job.finished_at = row.column_int(9);
    return job;
}

constexpr const char* kRunColumns =
    "id, name, config, status, checkpoint_path, adapter_id, error, created_at, updated_at";

TrainingRun read_run(const Statement& row) {
    TrainingRun run;
    run.id = row.column_int(0);
    run.name = row.column_text(1);
    run.config_json = row.column_text(2);
    run.status = run_state_named(row.column_text(3));
    run.checkpoint_path = row.column_text(4);
    if (!row.is_null(5))
        run.adapter_id = row.column_int(5);
    run.error = row.column_text(6);
    run.created_at = row.column_int(7);
    run.updated_at = row.column_int(8);
    return run;
}

}  // namespace

const char* state_name(JobState state) {
    return name_of(kJobStateNames, state);
}

const char* state_name(RunState state) {
    return name_of(kRunStateNames, state);
}

JobState job_state_named(const std::string& name) {
    return named(kJobStateNames, name);
}

RunState run_state_named(const std::string& name) {
    return named(kRunStateNames, name);
}

int64_t Jobs::enqueue(int64_t document_id, int64_t key_id, int64_t segments_total) {
    Statement insert(m_db,
                     "INSERT INTO compression_jobs(document_id, key_id, state, segments_total, created_at, updated_at) "
                     "VALUES (?, ?, 'queued', ?, ?, ?)");
    const int64_t now = now_ms();
    insert.bind(1, document_id).bind(2, key_id).bind(3, segments_total).bind(4, now).bind(5, now).run();
    return m_db.last_insert_rowid();
}

std::optional<CompressionJob> Jobs::get(int64_t id) {
    Statement select(m_db, std::string("SELECT ") + kJobColumns + " FROM compression_jobs WHERE id = ?");
    select.bind(1, id);
    return select.step() ? std::optional(read_job(select)) : std::nullopt;
}

std::vector<CompressionJob> Jobs::pending() {
    Statement select(m_db, std::string("SELECT ") + kJobColumns +
                               " FROM compression_jobs WHERE state IN ('queued', 'running', 'paused') "
                               "ORDER BY id");
    std::vector<CompressionJob> jobs;
    while (select.step())
        jobs.push_back(read_job(select));
    return jobs;
}

void Jobs::set_state(int64_t id, JobState state, const std::string& error) {
    const bool finished = state == JobState::Done || state == JobState::Failed || state == JobState::Cancelled;
    Statement update(m_db,
                     "UPDATE compression_jobs SET state = ?, error = ?, updated_at = ?, "
                     "finished_at = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?");
    const int64_t now = now_ms();
    update.bind(1, state_name(state)).bind(2, error).bind(3, now).bind(4, int64_t{finished}).bind(5, now).bind(6, id);
    update.run();
}

void Jobs::set_progress(int64_t id, int64_t segments_done) {
    Statement update(m_db, "UPDATE compression_jobs SET segments_done = ?, updated_at = ? WHERE id = ?");
    update.bind(1, segments_done).bind(2, now_ms()).bind(3, id).run();
}

int Jobs::requeue_interrupted() {
    Statement update(m_db, "UPDATE compression_jobs SET state = 'queued', updated_at = ? WHERE state = 'running'");
    update.bind(1, now_ms()).run();
    return m_db.changes();
}

int64_t Training::add_adapter(const std::string& name, const std::string& path, const std::string& fingerprint,
                              const std::string& base_fingerprint) {
    Statement insert(
        m_db,
        "INSERT INTO adapters(name, path, fingerprint, base_fingerprint, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(path) DO UPDATE SET name = excluded.name, fingerprint = excluded.fingerprint, "
        "base_fingerprint = excluded.base_fingerprint");
    insert.bind(1, name).bind(2, path).bind(3, fingerprint).bind(4, base_fingerprint).bind(5, now_ms()).run();
    Statement select(m_db, "SELECT id FROM adapters WHERE path = ?");
    select.bind(1, path).step();
    return select.column_int(0);
}

std::vector<AdapterRecord> Training::adapters() {
    Statement select(m_db,
                     "SELECT id, name, path, fingerprint, base_fingerprint, created_at FROM adapters ORDER BY id");
    std::vector<AdapterRecord> result;
    while (select.step()) {
        result.push_back({select.column_int(0), select.column_text(1), select.column_text(2), select.column_text(3),
                          select.column_text(4), select.column_int(5)});
    }
    return result;
}

void Training::rename_adapter(int64_t id, const std::string& name) {
    Statement update(m_db, "UPDATE adapters SET name = ? WHERE id = ?");
    update.bind(1, name).bind(2, id).run();
}

int64_t Training::start_run(const std::string& name, const std::string& config_json) {
    Statement insert(
        m_db, "INSERT INTO training_runs(name, config, status, created_at, updated_at) VALUES (?, ?, 'running', ?, ?)");
    const int64_t now = now_ms();
    insert.bind(1, name).bind(2, config_json).bind(3, now).bind(4, now).run();
    return m_db.last_insert_rowid();
}

std::optional<TrainingRun> Training::run(int64_t id) {
    Statement select(m_db, std::string("SELECT ") + kRunColumns + " FROM training_runs WHERE id = ?");
    select.bind(1, id);
    return select.step() ? std::optional(read_run(select)) : std::nullopt;
}

std::vector<TrainingRun> Training::runs() {
    Statement select(m_db, std::string("SELECT ") + kRunColumns + " FROM training_runs ORDER BY id");
    std::vector<TrainingRun> result;
    while (select.step())
        result.push_back(read_run(select));
    return result;
}

void Training::set_status(int64_t id, RunState status, const std::string& error) {
    Statement update(m_db, "UPDATE training_runs SET status = ?, error = ?, updated_at = ? WHERE id = ?");
    update.bind(1, state_name(status)).bind(2, error).bind(3, now_ms()).bind(4, id).run();
}

void Training::set_checkpoint(int64_t id, const std::string& path) {
    Statement update(m_db, "UPDATE training_runs SET checkpoint_path = ?, updated_at = ? WHERE id = ?");
    update.bind(1, path).bind(2, now_ms()).bind(3, id).run();
}

void Training::set_adapter(int64_t id, int64_t adapter_id) {
    Statement update(m_db, "UPDATE training_runs SET adapter_id = ?, updated_at = ? WHERE id = ?");
    update.bind(1, adapter_id).bind(2, now_ms()).bind(3, id).run();
}

void Training::add_point(int64_t run_id, const TrainingPoint& point) {
    Statement insert(m_db, "INSERT OR REPLACE INTO training_points(run_id, step, kind, value) VALUES (?, ?, ?, ?)");
    insert.bind(1, run_id).bind(2, point.step).bind(3, point.kind).bind(4, point.value).run();
}

std::vector<TrainingPoint> Training::points(int64_t run_id) {
    Statement select(m_db, "SELECT step, kind, value FROM training_points WHERE run_id = ? ORDER BY step, kind");
    select.bind(1, run_id);
    std::vector<TrainingPoint> result;
    while (select.step())
        result.push_back({select.column_int(0), select.column_text(1), select.column_double(2)});
    return result;
}

}  // namespace uio::storage
