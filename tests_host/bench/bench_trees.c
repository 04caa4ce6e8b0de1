// Instructions per prediction: emlml's tree core against emlearn's generated C for
// the same scikit-learn model, compiled with the same compiler and flags.
// Built and run by py_tools/emlml_tools/bench_emlearn.py, which generates
// bench_model.h (the blob, the test inputs and emlearn's code for the model) and
// counts the instructions of run_emlml() and run_emlearn() with callgrind.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emlml.h"
#include "bench_model.h"  // BLOB[], INPUTS[N_SAMPLES][N_FEATURES], the emlearn model

static emlml_model_t model;
static void *arena;
static volatile int32_t sink;

__attribute__((noinline)) static int32_t run_emlml(void) {
    int32_t agree = 0;
    emlml_error_t err;
    for (int i = 0; i < N_SAMPLES; i++) {
        uint32_t predicted;
        (void)emlml_predict_class(&model, INPUTS[i], arena, &predicted, &err);
        agree += (int32_t)predicted == SKLEARN[i];
    }
    return agree;
}

__attribute__((noinline)) static int32_t run_emlearn(void) {
    int32_t agree = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        agree += EMLEARN_PREDICT(INPUTS[i], N_FEATURES) == SKLEARN[i];
    }
    return agree;
}

int main(void) {
    emlml_error_t err;
    if (emlml_load(&model, (const uint8_t *)BLOB, sizeof(BLOB), &err) != EMLML_OK ||
        (arena = malloc(model.arena_bytes)) == NULL) {
        printf("load failed\n");
        return 1;
    }
    int32_t a = run_emlml();
    int32_t b = run_emlearn();
    sink = a + b;
    printf("agree emlml %d emlearn %d of %d\n", (int)a, (int)b, N_SAMPLES);
    return 0;
}
