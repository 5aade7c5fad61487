// The differentiable operators: chaingrad's C++ API. Each family lives in its own file with
// every op's forward next to its VJP node.
#pragma once
#include "ops/arithmetic.h"
#include "ops/conv.h"
#include "ops/creation.h"
#include "ops/einsum.h"
#include "ops/indexing.h"
#include "ops/linalg.h"
#include "ops/losses.h"
#include "ops/normalization.h"
#include "ops/padding.h"
#include "ops/pooling.h"
#include "ops/reduction.h"
#include "ops/shape.h"
#include "ops/sorting.h"
#include "ops/unary.h"
