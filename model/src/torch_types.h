// Conversions between the facade's plain types and libtorch's.
#pragma once

#include "uio/model/types.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace uio::model {

at::ScalarType to_scalar_type(DType dtype);
c10::Device to_device(const std::string& device);  // validated by check_device

}  // namespace uio::model
