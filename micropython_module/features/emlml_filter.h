// The SOS step (features/emlml_filter.c): an IIR filter as second-order sections, run
// per channel as scipy.signal.sosfilt runs it from a zero state, in float32, in the
// order py_tools' features/filters.py (sosfilt_f32) computes it.
#ifndef EMLML_FILTER_H
#define EMLML_FILTER_H

#include "emlml_internal.h"

// Floats an SOS step's parameters take from its first, `first` (NULL when that lies
// outside PIPE_PARAMS): 1 + 5 * sections when *first is a section count (1 ..
// EMLML_PIPE_MAX_SECTIONS), else 1 (the bounds check or emlml_sos_check refuses it).
uint32_t emlml_sos_param_count(const float *first);

// Load checks of step k, an SOS step whose parameters p lie inside PIPE_PARAMS: the
// section count, n_in a multiple of the channels, every section stable.
emlml_status_t emlml_sos_check(const emlml_step_t *s, const float *p, uint32_t k, uint32_t channels, emlml_error_t *err);

// The filter on x (n values, sample-major, `channels` interleaved) into y. Returns 1;
// 0 with *bad the first input that is NaN or infinite (nothing written); -1 with *bad
// the first output that overflowed float32.
int emlml_sos_run(const float *x, const float *p, float *y, uint32_t n, uint32_t channels, uint32_t *bad);

#endif // EMLML_FILTER_H
