// MicroPython's RPI_PICO2 settings, then ROMFS. The rp2 port puts its own directory on the
// include path (CMakeLists.txt), so this names the stock board's header.
#include "boards/RPI_PICO2/mpconfigboard.h"

// ROMFS (MicroPython >= 1.25): the port places MICROPY_HW_ROMFS_BYTES of flash just below
// the filesystem, enables MICROPY_VFS_ROM when it is non-zero and mounts it at /rom. The
// 512 KiB come out of the stock filesystem (flash minus 1 MiB), so the firmware keeps 1 MiB:
//   0 .. 1M firmware | 1M .. 1.5M ROMFS | 1.5M .. 4M filesystem (2.5 MiB on a 4 MiB Pico 2)
// The filesystem starts 512 KiB later than on stock firmware: back up files before flashing.
#define MICROPY_HW_ROMFS_BYTES (512 * 1024)
#undef MICROPY_HW_FLASH_STORAGE_BYTES
#define MICROPY_HW_FLASH_STORAGE_BYTES (PICO_FLASH_SIZE_BYTES - 1024 * 1024 - MICROPY_HW_ROMFS_BYTES)
