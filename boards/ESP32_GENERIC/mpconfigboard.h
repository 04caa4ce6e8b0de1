// MicroPython's ESP32_GENERIC settings, then ROMFS. The port puts its own directory on the
// include path (esp32_common.cmake), so this names the stock board's header.
#include "boards/ESP32_GENERIC/mpconfigboard.h"

// Mount the flash partition labelled "romfs" (partitions-4MiB-romfs.csv) at /rom; /rom and
// /rom/lib go on sys.path. Needs MicroPython >= 1.25.
#define MICROPY_VFS_ROM (1)
