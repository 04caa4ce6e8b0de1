# MicroPython's RPI_PICO2 (RP2350, Arm cores, 4 MiB flash) with emlml built in and a 512 KiB
# ROMFS at /rom. Out-of-tree board (MicroPython >= 1.25, its lib/pico-sdk):
#   cmake -S $MICROPY_DIR/ports/rp2 -B build-RPI_PICO2 -DMICROPY_BOARD=RPI_PICO2 \
#         -DMICROPY_BOARD_DIR=<emlml>/boards/RPI_PICO2 && make -C build-RPI_PICO2
# or `emlml firmware RPI_PICO2`. The stock RISCV variant is not offered here (no emlml .mpy
# for RISC-V either).
include(${CMAKE_CURRENT_LIST_DIR}/../emlml_board.cmake)
emlml_stock_board(RPI_PICO2)
