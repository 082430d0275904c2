// All optimisers and schedulers (see each header for examples).
#pragma once

#include "pare/optim/adam.h"
#include "pare/optim/lr_scheduler.h"
#include "pare/optim/optimizer.h"
#include "pare/optim/sgd.h"
