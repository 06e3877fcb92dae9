#include "uio/services/trainingrun.h"

#include "uio/storage/error.h"

#include <stdexcept>
#include <string>

namespace uio::services {

using storage::RunState;

storage::RunState nextState(RunState from, RunEvent event) {
    switch (from) {
        case RunState::Running:
            switch (event) {
                case RunEvent::Start:
                    return RunState::Running;
                case RunEvent::Pause:
                    return RunState::Paused;
                case RunEvent::Finish:
                    return RunState::Done;
                case RunEvent::Fail:
                    return RunState::Failed;
                case RunEvent::Cancel:
                    return RunState::Cancelled;
            }
            break;
        case RunState::Paused:
            if (event == RunEvent::Start)
                return RunState::Running;
            if (event == RunEvent::Cancel)
                return RunState::Cancelled;
            break;
        case RunState::Done:
        case RunState::Failed:
        case RunState::Cancelled:
            break;
    }
    throw std::logic_error(std::string("a fine-tuning run that is ") + storage::state_name(from) +
                           " cannot take that step");
}

void takeStep(storage::Training& training, int64_t id, RunEvent event, const std::string& error) {
    const auto run = training.run(id);
    if (!run)
        throw storage::StorageError("the fine-tuning run " + std::to_string(id) + " is no longer in the library");
    training.set_status(id, nextState(run->status, event), error);
}

}  // namespace uio::services
