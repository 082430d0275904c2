// All of pare::nn: the Module base, parametrizations, initialisers and the built-in layers.
//
//   #include "pare/nn/nn.h"
//   pare::nn::Sequential model(pare::nn::Linear(4, 8), pare::nn::ReLU(), pare::nn::Linear(8, 2));
//   pare::nn::init::xavier_uniform_(model->at<pare::nn::LinearImpl>(0).weight());
//   auto y = model(pare::randn({3, 4}));
#pragma once

#include "pare/nn/activation.h"
#include "pare/nn/container.h"
#include "pare/nn/conv.h"
#include "pare/nn/dropout.h"
#include "pare/nn/flatten.h"
#include "pare/nn/functional.h"
#include "pare/nn/identity.h"
#include "pare/nn/init.h"
#include "pare/nn/linear.h"
#include "pare/nn/loss.h"
#include "pare/nn/loss_options.h"
#include "pare/nn/lstm.h"
#include "pare/nn/module.h"
#include "pare/nn/normalization.h"
#include "pare/nn/parametrize.h"
#include "pare/nn/pooling.h"
#include "pare/nn/skip_init.h"
#include "pare/nn/softmax.h"
