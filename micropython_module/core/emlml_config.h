// Limits of this build of the emlml core. A blob that exceeds them is refused at load.
#ifndef EMLML_CONFIG_H
#define EMLML_CONFIG_H

// emlml's release, as emlml.__version__ reports it. The one C spelling: the binding
// (modemlml.c, emlml_natmod.c) and py_tools' generated format/c_tables.py take it from here.
#define EMLML_VERSION "0.1.0"

#define EMLML_MAGIC "EMLB"
// Blob format versions this build reads (the header's version field, docs/FORMAT.md):
// not the release above.
#define EMLML_VERSION_MIN 1u
#define EMLML_VERSION_MAX 1u
#define EMLML_HEADER_SIZE 48u
#define EMLML_SECTION_ENTRY_SIZE 12u
#define EMLML_MAX_SECTIONS 16u

#define EMLML_MAX_INPUTS 65534u    // feature indices are u16; 0xFFFF marks a tree leaf
#define EMLML_MAX_OUTPUTS 65535u
#define EMLML_MAX_TREES 65535u
#define EMLML_MAX_KNN_K 1024u
// Integer kNN distances (FORMAT.md, kNN): query codes are clamped to +-this (2^23 - 1:
// 128 times the widest int16 training range beyond it), so a squared difference with an
// int16 code is below 2^47 and a sum of EMLML_MAX_INPUTS of them fits a uint64.
#define EMLML_KNN_QUERY_CODE_MAX 8388607u
// ... and the shared scale lies in [2^-this, 2^this]: every distance and weight is then a
// finite, nonzero float32.
#define EMLML_KNN_SCALE_LOG2_MAX 64u

#define EMLML_PIPE_MAX_STEPS 16u   // feature steps in front of a model (features/)
#define EMLML_PIPE_MAX_FFT 4096u   // SPECTRUM: samples per channel (a power of two)
#define EMLML_PIPE_MAX_SECTIONS 16u   // SOS: second-order sections in one filter (order 32)

// int8 CNN (cnn/emlml_cnn_load.c).
#define EMLML_CNN_MAX_TENSORS 512u   // the loader's tensor sets are bitmaps of this many bits on the stack
#define EMLML_CNN_MAX_LAYERS 512u
#define EMLML_CNN_MAX_PRODUCTS 65536u   // products summed per output: keeps the int32 sum exact
// MEAN sums at most 2^23 raw int8 values in an int32; messages say "2^23", so the
// exponent is the setting.
#define EMLML_CNN_MEAN_CELLS_LOG2 23u
#define EMLML_CNN_MAX_MEAN_CELLS (1u << EMLML_CNN_MEAN_CELLS_LOG2)

// The model families this build holds, 1 or 0 each (a -D on the command line wins). The
// native module is also built with one family each, so that a board holds only the code
// its models need: the armv6m budget (24 KB) is for one family. A blob of a family left
// out passes the header checks, then is refused by name (EMLML_E_NO_FAMILY), so that a
// corrupt blob still gets its own error. docs/ARCHITECTURE.md, "One module, built per
// family".
#ifndef EMLML_WITH_TREES
#define EMLML_WITH_TREES 1
#endif
#ifndef EMLML_WITH_KNN
#define EMLML_WITH_KNN 1
#endif
#ifndef EMLML_WITH_CNN
#define EMLML_WITH_CNN 1
#endif
// Feature steps in front of a model (features/, a converted scikit-learn Pipeline). The
// CNN-only module leaves them out: the armv6m CNN module has no room for them. A build
// without them refuses a blob with PIPE_* sections with EMLML_E_NO_FEATURES (after the
// section table and META checks), naming the module to install.
#ifndef EMLML_WITH_FEATURES
#define EMLML_WITH_FEATURES 1
#endif
// The sound steps MFE and MFCC (features/emlml_mfcc.c), in builds with feature steps.
// The one-family modules leave them out (the armv6m trees module has no room for them
// within its 24 KB): a blob with them is refused there with EMLML_E_STEP_NO_SOUND.
#ifndef EMLML_WITH_SOUND
#define EMLML_WITH_SOUND EMLML_WITH_FEATURES
#endif
#if EMLML_WITH_SOUND != 0 && EMLML_WITH_SOUND != 1
#error "EMLML_WITH_SOUND must be 0 or 1"
#endif
#if EMLML_WITH_SOUND && !EMLML_WITH_FEATURES
#error "EMLML_WITH_SOUND needs EMLML_WITH_FEATURES"
#endif
#if EMLML_WITH_FEATURES != 0 && EMLML_WITH_FEATURES != 1
#error "EMLML_WITH_FEATURES must be 0 or 1"
#endif
#if (EMLML_WITH_TREES != 0 && EMLML_WITH_TREES != 1) || (EMLML_WITH_KNN != 0 && EMLML_WITH_KNN != 1) || \
    (EMLML_WITH_CNN != 0 && EMLML_WITH_CNN != 1)
#error "EMLML_WITH_TREES, EMLML_WITH_KNN and EMLML_WITH_CNN must be 0 or 1"
#endif
#if !(EMLML_WITH_TREES || EMLML_WITH_KNN || EMLML_WITH_CNN)
#error "an emlml build needs at least one model family (EMLML_WITH_TREES, EMLML_WITH_KNN, EMLML_WITH_CNN)"
#endif

#endif // EMLML_CONFIG_H
