# Shared by the emlml board definitions boards/<BOARD>/mpconfigboard.cmake (ESP32_GENERIC,
# ESP32_GENERIC_S3, RPI_PICO, RPI_PICO2). Each one is MicroPython's stock board of the same
# name plus: emlml as a user C module, this checkout's manifest.py frozen in (next to the
# port's default manifest), and a ROMFS mounted at /rom.
#
# They are out-of-tree boards for the ports' BOARD_DIR mechanism (MicroPython >= 1.25):
#   make -C $MICROPY_DIR/ports/esp32 BOARD_DIR=<emlml>/boards/ESP32_GENERIC
#   cmake -S $MICROPY_DIR/ports/rp2 -B build -DMICROPY_BOARD=RPI_PICO \
#         -DMICROPY_BOARD_DIR=<emlml>/boards/RPI_PICO
# `emlml firmware BOARD` (py_tools/emlml_tools/firmware.py) checks the prerequisites and runs
# these for you. Both ports include mpconfigboard.cmake from their top-level CMakeLists.txt,
# so CMAKE_SOURCE_DIR is the port directory ($MICROPY_DIR/ports/<port>) here.

get_filename_component(EMLML_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
get_filename_component(EMLML_PORT_DIR "${CMAKE_SOURCE_DIR}" ABSOLUTE)
get_filename_component(EMLML_MICROPY_DIR "${CMAKE_SOURCE_DIR}/../.." ABSOLUTE)

# ROMFS (MICROPY_VFS_ROM, vfs.rom_ioctl, the esp32 "romfs" partition, the rp2
# MICROPY_HW_ROMFS_BYTES region) is in MicroPython from 1.25.0 on.
set(EMLML_MICROPY_MIN_VERSION 1.25)

file(STRINGS "${EMLML_MICROPY_DIR}/py/mpconfig.h" _emlml_version_lines
     REGEX "^#define MICROPY_VERSION_(MAJOR|MINOR|MICRO) +[0-9]+")
string(REGEX MATCH "MAJOR +([0-9]+)" _emlml_match "${_emlml_version_lines}")
set(EMLML_MICROPY_VERSION "${CMAKE_MATCH_1}")
string(REGEX MATCH "MINOR +([0-9]+)" _emlml_match "${_emlml_version_lines}")
set(EMLML_MICROPY_VERSION "${EMLML_MICROPY_VERSION}.${CMAKE_MATCH_1}")
if(NOT EMLML_MICROPY_VERSION MATCHES "^[0-9]+\\.[0-9]+$")
    message(FATAL_ERROR "emlml: cannot read the MicroPython version from "
        "${EMLML_MICROPY_DIR}/py/mpconfig.h: is ${EMLML_MICROPY_DIR} a MicroPython checkout?")
endif()
if(EMLML_MICROPY_VERSION VERSION_LESS EMLML_MICROPY_MIN_VERSION)
    message(FATAL_ERROR "emlml: MicroPython ${EMLML_MICROPY_VERSION} in ${EMLML_MICROPY_DIR} is "
        "too old for the emlml boards: their ROMFS needs MicroPython ${EMLML_MICROPY_MIN_VERSION} "
        "or newer. Check out v1.25.0 or later, or build the stock board with "
        "USER_C_MODULES=${EMLML_DIR}/micropython_module/micropython.cmake (no ROMFS).")
endif()

# Everything the stock board sets (IDF_TARGET and SDKCONFIG_DEFAULTS on esp32; PICO_BOARD,
# PICO_PLATFORM on rp2). MICROPY_BOARD_DIR points at the stock board while its file runs, in
# case it names files relative to its own directory, then back at ours.
macro(emlml_stock_board stock_board)
    set(EMLML_STOCK_BOARD_DIR "${EMLML_PORT_DIR}/boards/${stock_board}")
    if(NOT EXISTS "${EMLML_STOCK_BOARD_DIR}/mpconfigboard.cmake")
        message(FATAL_ERROR "emlml: this board extends MicroPython's ${stock_board}, but "
            "${EMLML_STOCK_BOARD_DIR}/mpconfigboard.cmake does not exist")
    endif()
    set(_emlml_board_dir "${MICROPY_BOARD_DIR}")
    set(MICROPY_BOARD_DIR "${EMLML_STOCK_BOARD_DIR}")
    include("${EMLML_STOCK_BOARD_DIR}/mpconfigboard.cmake")
    set(MICROPY_BOARD_DIR "${_emlml_board_dir}")

    # emlml as a user C module, after any the user passes with USER_C_MODULES=...
    # (list(FIND), not IN_LIST: that needs policy CMP0057, which the caller may not set)
    set(_emlml_usermod "${EMLML_DIR}/micropython_module/micropython.cmake")
    list(FIND USER_C_MODULES "${_emlml_usermod}" _emlml_found)
    if(_emlml_found EQUAL -1)
        list(APPEND USER_C_MODULES "${_emlml_usermod}")
    endif()

    # The board's manifest: the port's default manifest plus emlml's manifest.py. A
    # FROZEN_MANIFEST=... given to make/cmake still wins (the ports handle that).
    set(MICROPY_FROZEN_MANIFEST "${MICROPY_BOARD_DIR}/manifest.py")
endmacro()

# esp32: use the board's partition table (which has a data partition labelled "romfs",
# found by the port's vfs.rom_ioctl). ESP-IDF reads the table's name from sdkconfig; it must
# be absolute here (a relative one is taken from the port directory), so the fragment is
# written into the build directory and appended after the stock board's fragments (the
# port concatenates them; the last setting wins; the leading newline guards against a
# fragment before it that does not end in one).
macro(emlml_esp32_partition_table csv)
    if(NOT EXISTS "${csv}")
        message(FATAL_ERROR "emlml: partition table ${csv} does not exist")
    endif()
    set(_emlml_fragment "${CMAKE_BINARY_DIR}/sdkconfig.emlml_partitions")
    file(WRITE "${_emlml_fragment}"
        "\nCONFIG_PARTITION_TABLE_CUSTOM=y\nCONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"${csv}\"\n")
    list(APPEND SDKCONFIG_DEFAULTS "${_emlml_fragment}")
endmacro()
