// pare's model zoo: torchvision's layouts in pare's C++ API, for tests, benchmarks and the demo.
//
//   #include "pare/models/models.h"
//   auto resnet = pare::models::resnet18();
//   auto mobilenet = pare::models::mobilenet_v2();
#pragma once

#include "pare/models/densenet.h"
#include "pare/models/mobilenet_v2.h"
#include "pare/models/resnet.h"
#include "pare/models/transformer.h"
