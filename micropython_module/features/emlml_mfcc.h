// The sound steps MFE and MFCC (features/emlml_mfcc.c; docs/features.md, FORMAT.md
// "Pipelines"): frames with hop of a mono window, each windowed, zero-padded, through
// the FFT, its power through a sparse mel filterbank and the log (MFE), then a DCT-II
// (MFCC). Output frame-major: frames x mels, or frames x coefficients.
#ifndef EMLML_MFCC_H
#define EMLML_MFCC_H

#include "emlml_internal.h"

// The fixed head of their parameters (the rest follows from it).
enum {
    EMLML_SOUND_FRAME = 0,    // frame_length, samples (1 .. n_in)
    EMLML_SOUND_HOP = 1,      // samples between frame starts (1 .. EMLML_MAX_INPUTS)
    EMLML_SOUND_FFT = 2,      // n_fft, a power of two >= frame_length (2 .. EMLML_PIPE_MAX_FFT)
    EMLML_SOUND_MELS = 3,     // mel filters (1 .. n_fft / 2 + 1)
    EMLML_SOUND_COEFS = 4,    // MFCC: coefficients (1 .. mels); MFE: 0
    EMLML_SOUND_PREEMPH = 5,  // pre-emphasis coefficient (0 .. 1; 0: none)
    EMLML_SOUND_FLOOR = 6,    // the log's floor (a normal float32 > 0)
    EMLML_SOUND_WEIGHTS = 7,  // the filterbank's weights in all
    EMLML_SOUND_HEAD = 8,
};

#if EMLML_WITH_SOUND
// Check step k (op MFE or MFCC, its head within the parameters already) against the
// parameters and the window; sets *scratch to the floats it needs after the buffers.
emlml_status_t emlml_sound_check(const emlml_step_t *s, uint32_t k, const float *params, uint32_t n_params, uint32_t channels, uint32_t *scratch, emlml_error_t *err);
// Run a checked step on n_in finite values x into y; scratch as emlml_sound_check said.
void emlml_sound_run(const emlml_step_t *s, const float *p, const float *x, float *y, float *scratch);
#endif

#endif // EMLML_MFCC_H
