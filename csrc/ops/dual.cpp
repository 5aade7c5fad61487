#include "ops/dual.h"

#include "graph/forward_ad.h"
#include "graph/meta.h"
#include "ops/shape.h"

namespace cg::ops {

namespace fw = autograd::forward_ad;

Tensor make_dual(const Tensor& primal, const Tensor& tangent) {
  if (!fw::level_active())
    throw RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                       "enter_dual_level() first.");
  if (!is_floating(primal.dtype()))
    throw ValueError(msg("Expected primal to be floating point or complex, but got: chaingrad.",
                         dtype_name(primal.dtype())));
  if (!is_floating(tangent.dtype()))
    throw ValueError(msg("Expected tangent to be floating point or complex, but got: chaingrad.",
                         dtype_name(tangent.dtype())));
  if (fw::has_tangent(primal))
    throw RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                       "level 0 is not supported.");
  if (tangent.shape() != primal.shape())
    throw RuntimeError(msg("Trying to set a forward gradient that has a different size than that of the original "
                           "Tensor, this is not supported. Tensor is of size ", shape_str(primal.shape()),
                           " while the given forward gradient is of size ", shape_str(tangent.shape()), "."));
  Tensor dual;
  {
    fw::Suspend suspend;
    dual = alias(primal);
  }
  autograd::AutogradMeta& m = autograd::meta_mut(dual);
  if (!m.is_view) {
    m.is_view = true;
    m.extras().view_base = primal;
  }
  fw::set_tangent(dual, tangent);
  return dual;
}

Tensor primal_view(const Tensor& t) {
  Tensor primal;
  {
    fw::Suspend suspend;
    primal = alias(t);
  }
  // A view of t, but without t's tangent (a view made at the level would read it from t).
  if (fw::level_active()) fw::set_tangent(primal, Tensor());
  return primal;
}

}  // namespace cg::ops
