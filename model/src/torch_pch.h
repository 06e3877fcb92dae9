// The libtorch headers that model/ translation units use, precompiled once per target.
// Include specific headers here, never <torch/torch.h>: it doubles the compile time.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/types.h>
