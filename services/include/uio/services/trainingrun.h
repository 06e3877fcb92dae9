// The life of a fine-tuning run, in one place (the desktop application's FineTuner follows it):
//
//   running --Pause--> paused --Start--> running
//           --Finish-> done
//           --Fail---> failed
//   running or paused --Cancel--> cancelled
//   running --Start--> running (a run left running by a program that was killed, resumed)
//
// A run is created running (storage::Training::start_run). Done, failed and cancelled are final.
#pragma once

#include "uio/storage/jobs.h"

namespace uio::services {

enum class RunEvent { Start, Pause, Finish, Fail, Cancel };

// The state after `event`; std::logic_error for an event that cannot happen in `from`.
storage::RunState nextState(storage::RunState from, RunEvent event);

// Records `event` for run `id` in the library; std::logic_error as above, StorageError when the run
// is gone or the disk refuses.
void takeStep(storage::Training& training, int64_t id, RunEvent event, const std::string& error = {});

}  // namespace uio::services
