// MicroPython's RPI_PICO settings, then ROMFS. The rp2 port puts its own directory on the
// include path (CMakeLists.txt), so this names the stock board's header.
#include "boards/RPI_PICO/mpconfigboard.h"

// ROMFS (MicroPython >= 1.25): the port places MICROPY_HW_ROMFS_BYTES of flash just below
// the filesystem, enables MICROPY_VFS_ROM when it is non-zero and mounts it at /rom. The
// 256 KiB come out of the stock 1408 KiB filesystem, so the firmware keeps its 640 KiB:
//   0 .. 640K firmware | 640K .. 896K ROMFS | 896K .. 2048K filesystem (1152 KiB)
// The filesystem starts 256 KiB later than on stock firmware: back up files before flashing.
#define MICROPY_HW_ROMFS_BYTES (256 * 1024)
#undef MICROPY_HW_FLASH_STORAGE_BYTES
#define MICROPY_HW_FLASH_STORAGE_BYTES (1408 * 1024 - MICROPY_HW_ROMFS_BYTES)
