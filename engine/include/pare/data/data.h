// pare::data: datasets, the Fashion-MNIST / IDX reader, transforms and the DataLoader.
//
//   #include <pare/data/data.h>
//   namespace T = pare::data::transforms;
//   auto train = pare::data::load_fashion_mnist(pare::data::Split::train);
//   pare::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1},
//                                 T::Compose({T::RandomCrop(28, 2), T::RandomHorizontalFlip(),
//                                             T::Normalize(pare::data::kFashionMnistMean,
//                                                          pare::data::kFashionMnistStd)}));
//   for (int64_t epoch = 0; epoch < 5; ++epoch)
//     for (const pare::data::Batch& batch : loader.epoch(epoch)) train_step(batch.data,
//     batch.targets);
#pragma once

#include "pare/data/data_loader.h"
#include "pare/data/dataset.h"
#include "pare/data/fashion_mnist.h"
#include "pare/data/idx.h"
#include "pare/data/tensor_dataset.h"
#include "pare/data/transforms.h"
