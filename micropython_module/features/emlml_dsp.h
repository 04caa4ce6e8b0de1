// float32 signal processing the feature steps share (features/emlml_dsp.c), each
// operation in the order py_tools' features/dsp.py computes it, so that the board and
// the host give the same bits.
#ifndef EMLML_DSP_H
#define EMLML_DSP_H

#include <stdint.h>

// Natural logarithm of x > 0 (infinity gives infinity).
float emlml_log_f32(float x);

// The DFT X_k = sum_t x_t e^(-2 pi i k t / n) of n real values, n a power of two (2 ..
// EMLML_PIPE_MAX_FFT). On entry re[t] = x_t, t < n; im is n floats of scratch. On return
// re[k] and im[k] hold bin k for k = 0 .. n / 2 (the rest of both is scratch). cosine
// and sine are cos and sin of 2 pi k / n for k < n / 2 (the step's parameters). A real
// FFT: the complex FFT of n / 2 points, then a split (FORMAT.md, SPECTRUM).
void emlml_fft_real(float *re, float *im, uint32_t n, const float *cosine, const float *sine);

#endif // EMLML_DSP_H
