#pragma once
// Umbrella header: everything but file I/O (include <mam/io/...> for checkpoints).

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/activation.hpp"
#include "mam/nn/init.hpp"
#include "mam/nn/linear.hpp"
#include "mam/nn/one_hot_input.hpp"
#include "mam/nn/residual_mlp.hpp"
#include "mam/optim/adam.hpp"
#include "mam/optim/clip.hpp"
#include "mam/optim/schedule.hpp"
