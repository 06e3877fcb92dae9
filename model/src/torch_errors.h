// libtorch's exceptions as the engine's: what leaves the public API is a ModelError (OutOfMemory
// when memory ran out), never a c10::Error with its backtrace.
#pragma once

#include "uio/model/error.h"

#include <c10/util/Exception.h>

#include <string>
#include <utility>

namespace uio::model {

// Runs `work`; `doing` says what it was ("generating", "training") in the message.
template <typename Work>
decltype(auto) with_model_errors(const char* doing, Work&& work) {
    try {
        return std::forward<Work>(work)();
    } catch (const c10::OutOfMemoryError& e) {
        throw OutOfMemory(std::string("out of memory while ") + doing + " (" + e.what_without_backtrace() +
                          "): try a shorter text, bf16, or the CPU");
    } catch (const c10::Error& e) {
        throw ModelError(std::string("the model failed while ") + doing + ": " + e.what_without_backtrace());
    }
}

}  // namespace uio::model
