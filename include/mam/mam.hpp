#pragma once
// Umbrella header: the model, its losses and samplers, networks, optimizers and core types.
// Not included: file I/O (<mam/io/...>) and the trainers (<mam/train/...>), which write
// checkpoints and so need zlib.

#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"
#include "mam/data/batcher.hpp"
#include "mam/loss/ao_arm.hpp"
#include "mam/loss/energy.hpp"
#include "mam/loss/self_consistency.hpp"
#include "mam/model/gradient.hpp"
#include "mam/model/marginalization_model.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/nn/activation.hpp"
#include "mam/nn/init.hpp"
#include "mam/nn/linear.hpp"
#include "mam/nn/one_hot_input.hpp"
#include "mam/nn/residual_mlp.hpp"
#include "mam/optim/adam.hpp"
#include "mam/optim/clip.hpp"
#include "mam/optim/schedule.hpp"
#include "mam/sample/ancestral.hpp"
#include "mam/sample/censor_resample.hpp"
#include "mam/sample/conditional.hpp"
#include "mam/sample/options.hpp"
