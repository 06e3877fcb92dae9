// The one exception type of model/: a message a user can act on, naming the file and the problem.
#pragma once

#include <stdexcept>
#include <string>

namespace uio::model {

class ModelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The device ran out of memory; nothing is left half done. The message says what to try.
class OutOfMemory : public ModelError {
public:
    using ModelError::ModelError;
};

// Thrown by a generation or compression that was cancelled from another thread.
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace uio::model
