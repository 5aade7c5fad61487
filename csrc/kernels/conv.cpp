#include "kernels/conv.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/checks.h"
#include "kernels/convert.h"
#include "kernels/parallel.h"

namespace cg::kernels {

namespace {

// The output columns j whose input column j*sw + off lies in [0, W): [lo, hi), within [0, ow).
struct ColumnRange {
  int64_t lo, hi;
};
ColumnRange valid_columns(int64_t off, int64_t sw, int64_t W, int64_t ow) {
  const int64_t lo = std::min<int64_t>(off >= 0 ? 0 : (-off + sw - 1) / sw, ow);
  const int64_t hi = W - 1 - off < 0 ? 0 : std::min<int64_t>((W - 1 - off) / sw + 1, ow);
  return {lo, std::max(lo, hi)};
}

// Planes (n, c) per parallel chunk so that a chunk does about kGrainSize element moves.
int64_t plane_grain(int64_t work_per_plane) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work_per_plane)); }

template <typename T>
void im2col_impl(const Tensor& x, const Tensor& cols, const Window2d& w) {
  const int64_t C = x.shape()[1], K = w.kh * w.kw, L = w.oh * w.ow;
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1], s2 = x.strides()[2], s3 = x.strides()[3];
  const T* X = x.data<T>();
  T* out = cols.data<T>();
  parallel_for(x.shape()[0] * C, plane_grain(K * L), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* plane = X + (p / C) * s0 + (p % C) * s1;
      for (int64_t a = 0; a < w.kh; ++a)
        for (int64_t b = 0; b < w.kw; ++b) {
          T* row = out + (p * K + a * w.kw + b) * L;
          const int64_t off = b * w.dw - w.pw;
          const ColumnRange jr = valid_columns(off, w.sw, w.W, w.ow);
          for (int64_t i = 0; i < w.oh; ++i) {
            T* r = row + i * w.ow;
            const int64_t h = i * w.sh - w.ph + a * w.dh;
            if (h < 0 || h >= w.H) {
              std::fill(r, r + w.ow, T(0));
              continue;
            }
            const T* src = plane + h * s2;
            std::fill(r, r + jr.lo, T(0));
            if (w.sw == 1 && s3 == 1) {
              const T* s = src + off;
              for (int64_t j = jr.lo; j < jr.hi; ++j) r[j] = s[j];
            } else {
              for (int64_t j = jr.lo; j < jr.hi; ++j) r[j] = src[(j * w.sw + off) * s3];
            }
            std::fill(r + jr.hi, r + w.ow, T(0));
          }
        }
    }
  });
}

template <typename T>
void col2im_impl(const Tensor& cols, const Tensor& x, const Window2d& w) {
  const int64_t C = x.shape()[1], K = w.kh * w.kw, L = w.oh * w.ow, HW = w.H * w.W;
  const T* in = cols.data<T>();
  T* X = x.data<T>();
  parallel_for(x.shape()[0] * C, plane_grain(K * L), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      T* plane = X + p * HW;
      std::fill(plane, plane + HW, T(0));
      for (int64_t a = 0; a < w.kh; ++a)
        for (int64_t b = 0; b < w.kw; ++b) {
          const T* row = in + (p * K + a * w.kw + b) * L;
          const int64_t off = b * w.dw - w.pw;
          const ColumnRange jr = valid_columns(off, w.sw, w.W, w.ow);
          for (int64_t i = 0; i < w.oh; ++i) {
            const int64_t h = i * w.sh - w.ph + a * w.dh;
            if (h < 0 || h >= w.H) continue;
            const T* r = row + i * w.ow;
            T* dst = plane + h * w.W + off;
            if (w.sw == 1) {
              for (int64_t j = jr.lo; j < jr.hi; ++j) dst[j] += r[j];
            } else {
              for (int64_t j = jr.lo; j < jr.hi; ++j) dst[j * w.sw] += r[j];
            }
          }
        }
    }
  });
}

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  return false;
}

template <typename T>
void max_pool_impl(const Tensor& x, const Tensor& out, const Tensor& indices, const Window2d& w) {
  const int64_t C = x.shape()[1], L = w.oh * w.ow;
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1], s2 = x.strides()[2], s3 = x.strides()[3];
  const T* X = x.data<T>();
  T* O = out.data<T>();
  int64_t* I = indices.data<int64_t>();
  const T lowest = std::is_floating_point_v<T> ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  parallel_for(x.shape()[0] * C, plane_grain(L * w.kh * w.kw), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* plane = X + (p / C) * s0 + (p % C) * s1;
      for (int64_t i = 0; i < w.oh; ++i)
        for (int64_t j = 0; j < w.ow; ++j) {
          int64_t h0 = i * w.sh - w.ph, w0 = j * w.sw - w.pw;
          while (h0 < 0) h0 += w.dh;
          while (w0 < 0) w0 += w.dw;
          const int64_t h1 = std::min(i * w.sh - w.ph + (w.kh - 1) * w.dh + 1, w.H);
          const int64_t w1 = std::min(j * w.sw - w.pw + (w.kw - 1) * w.dw + 1, w.W);
          T best = lowest;
          int64_t best_at = h0 * w.W + w0;
          for (int64_t h = h0; h < h1; h += w.dh)
            for (int64_t c = w0; c < w1; c += w.dw) {
              const T v = plane[h * s2 + c * s3];
              if (v > best || is_nan(v)) {
                best = v;
                best_at = h * w.W + c;
              }
            }
          O[p * L + i * w.ow + j] = best;
          I[p * L + i * w.ow + j] = best_at;
        }
    }
  });
}

// The input rectangle of window (i, j) and its divisor (0 when the window holds no input).
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};
AvgWindow avg_window(const Window2d& w, const AvgDivisor& d, int64_t i, int64_t j) {
  int64_t h0 = i * w.sh - w.ph, w0 = j * w.sw - w.pw;
  int64_t h1 = std::min(h0 + w.kh, w.H + w.ph), w1 = std::min(w0 + w.kw, w.W + w.pw);
  const int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, w.H);
  w1 = std::min(w1, w.W);
  if (h0 >= h1 || w0 >= w1) return {h0, h0, w0, w0, 0};
  const int64_t div = d.divisor > 0 ? d.divisor : (d.count_include_pad ? padded_size : (h1 - h0) * (w1 - w0));
  return {h0, h1, w0, w1, div};
}

template <typename T>
void avg_pool_impl(const Tensor& x, const Tensor& out, const Window2d& w, const AvgDivisor& d) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
  const int64_t C = x.shape()[1], L = w.oh * w.ow;
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1], s2 = x.strides()[2], s3 = x.strides()[3];
  const T* X = x.data<T>();
  T* O = out.data<T>();
  parallel_for(x.shape()[0] * C, plane_grain(L * w.kh * w.kw), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* plane = X + (p / C) * s0 + (p % C) * s1;
      for (int64_t i = 0; i < w.oh; ++i)
        for (int64_t j = 0; j < w.ow; ++j) {
          const AvgWindow aw = avg_window(w, d, i, j);
          Acc sum = 0;
          for (int64_t h = aw.h0; h < aw.h1; ++h)
            for (int64_t c = aw.w0; c < aw.w1; ++c) sum += plane[h * s2 + c * s3];
          O[p * L + i * w.ow + j] = aw.divisor == 0 ? T(0) : static_cast<T>(sum / static_cast<Acc>(aw.divisor));
        }
    }
  });
}

template <typename T>
void avg_pool_backward_impl(const Tensor& g, const Tensor& gx, const Window2d& w, const AvgDivisor& d) {
  const int64_t C = g.shape()[1], HW = w.H * w.W;
  const int64_t s0 = g.strides()[0], s1 = g.strides()[1], s2 = g.strides()[2], s3 = g.strides()[3];
  const T* G = g.data<T>();
  T* X = gx.data<T>();
  parallel_for(g.shape()[0] * C, plane_grain(w.oh * w.ow * w.kh * w.kw), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* gp = G + (p / C) * s0 + (p % C) * s1;
      T* plane = X + p * HW;
      std::fill(plane, plane + HW, T(0));
      for (int64_t i = 0; i < w.oh; ++i)
        for (int64_t j = 0; j < w.ow; ++j) {
          const AvgWindow aw = avg_window(w, d, i, j);
          if (aw.divisor == 0) continue;
          const T share = gp[i * s2 + j * s3] / static_cast<T>(aw.divisor);
          for (int64_t h = aw.h0; h < aw.h1; ++h)
            for (int64_t c = aw.w0; c < aw.w1; ++c) plane[h * w.W + c] += share;
        }
    }
  });
}

template <typename T>
void add_bias_impl(const Tensor& out, const Tensor& bias) {
  const int64_t C = out.shape()[1], L = out.numel() / std::max<int64_t>(1, out.shape()[0] * C);
  const int64_t bs = bias.strides()[0];
  const T* B = bias.data<T>();
  T* O = out.data<T>();
  parallel_for(out.shape()[0] * C, plane_grain(L), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T v = B[(p % C) * bs];
      T* row = O + p * L;
      for (int64_t l = 0; l < L; ++l) row[l] += v;
    }
  });
}

}  // namespace

// Every entry checks its buffers (dtype, storage bounds, the contiguous outputs' shapes) and moves
// storage dtypes (int32, float16, ...) through their compute dtype (kernels/convert.h).
namespace {
void check_planes(const char* op, const Tensor& x, const Tensor& out, const Shape& out_shape) {
  CG_CHECK(x.dim() == 4 && out.dim() == 4, op, ": expected 4-D [N, C, H, W] buffers");
  check_buffers(op, x.dtype(), {&x}, false);
  check_buffers(op, x.dtype(), {&out}, true);
  check_shapes(op, out_shape, {&out});
}
}  // namespace

void add_channel_bias(const Tensor& out, const Tensor& bias) {
  check_buffers("add_bias", out.dtype(), {&out}, true);
  check_buffers("add_bias", out.dtype(), {&bias}, false);
  CG_CHECK(out.dim() >= 2 && bias.dim() == 1 && bias.shape()[0] == out.shape()[1],
           "add_bias: expected an [N, C, ...] output and a [C] bias");
  if (any_storage_only({&out, &bias})) {
    Tensor o = widened(out);
    add_channel_bias(o, widened(bias));
    return narrow_into(out, o);
  }
  CG_DISPATCH_NUMERIC(out.dtype(), "add_bias", [&] { add_bias_impl<scalar_t>(out, bias); });
}

void im2col(const Tensor& x, const Tensor& cols, const Window2d& w) {
  CG_CHECK(x.dim() == 4 && x.shape()[2] == w.H && x.shape()[3] == w.W, "im2col: input does not match the window");
  check_buffers("im2col", x.dtype(), {&x}, false);
  check_buffers("im2col", x.dtype(), {&cols}, true);
  // cols may hold more batch rows than x (a reused chunk buffer); the first N are written.
  CG_CHECK(cols.dim() == 3 && cols.shape()[0] >= x.shape()[0] && cols.shape()[1] == x.shape()[1] * w.kh * w.kw &&
               cols.shape()[2] == w.oh * w.ow,
           "im2col: expected columns of shape [>= ", x.shape()[0], ", ", x.shape()[1] * w.kh * w.kw, ", ",
           w.oh * w.ow, "], but got one of shape ", shape_str(cols.shape()));
  if (any_storage_only({&x})) {
    Tensor c = widened(cols);
    im2col(widened(x), c, w);
    return narrow_into(cols, c);
  }
  CG_DISPATCH_ALL(x.dtype(), [&] { im2col_impl<scalar_t>(x, cols, w); });
}

void col2im(const Tensor& cols, const Tensor& x, const Window2d& w) {
  CG_CHECK(x.dim() == 4 && x.shape()[2] == w.H && x.shape()[3] == w.W, "col2im: output does not match the window");
  check_buffers("col2im", x.dtype(), {&x, &cols}, true);
  check_shapes("col2im", {x.shape()[0], x.shape()[1] * w.kh * w.kw, w.oh * w.ow}, {&cols});
  if (any_storage_only({&x})) {
    Tensor o = widened(x);
    col2im(widened(cols), o, w);
    return narrow_into(x, o);
  }
  CG_DISPATCH_ALL(x.dtype(), [&] { col2im_impl<scalar_t>(cols, x, w); });
}

void max_pool2d(const Tensor& x, const Tensor& out, const Tensor& indices, const Window2d& w) {
  check_planes("max_pool2d", x, out, {x.shape()[0], x.shape()[1], w.oh, w.ow});
  check_buffers("max_pool2d", DType::Int64, {&indices}, true);
  check_shapes("max_pool2d", out.shape(), {&indices});
  if (any_storage_only({&x})) {
    Tensor o = widened(out);
    max_pool2d(widened(x), o, indices, w);
    return narrow_into(out, o);
  }
  CG_DISPATCH_NUMERIC(x.dtype(), "max_pool2d", [&] { max_pool_impl<scalar_t>(x, out, indices, w); });
}

void avg_pool2d(const Tensor& x, const Tensor& out, const Window2d& w, const AvgDivisor& d) {
  check_planes("avg_pool2d", x, out, {x.shape()[0], x.shape()[1], w.oh, w.ow});
  if (any_storage_only({&x})) {
    Tensor o = widened(out);
    avg_pool2d(widened(x), o, w, d);
    return narrow_into(out, o);
  }
  CG_DISPATCH_NUMERIC(x.dtype(), "avg_pool2d", [&] { avg_pool_impl<scalar_t>(x, out, w, d); });
}

void avg_pool2d_backward(const Tensor& g, const Tensor& gx, const Window2d& w, const AvgDivisor& d) {
  CG_CHECK(gx.dim() == 4 && gx.shape()[2] == w.H && gx.shape()[3] == w.W,
           "avg_pool2d_backward: gradient does not match the window");
  check_planes("avg_pool2d_backward", g, gx, gx.shape());
  check_shapes("avg_pool2d_backward", {gx.shape()[0], gx.shape()[1], w.oh, w.ow}, {&g});
  if (any_storage_only({&g})) {
    Tensor o = widened(gx);
    avg_pool2d_backward(widened(g), o, w, d);
    return narrow_into(gx, o);
  }
  CG_DISPATCH_NUMERIC(g.dtype(), "avg_pool2d_backward", [&] { avg_pool_backward_impl<scalar_t>(g, gx, w, d); });
}

}  // namespace cg::kernels
