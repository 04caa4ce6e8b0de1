# MicroPython's RPI_PICO (RP2040, 2 MiB flash) with emlml built in and a 256 KiB ROMFS at /rom.
# Out-of-tree board (MicroPython >= 1.25, its lib/pico-sdk):
#   cmake -S $MICROPY_DIR/ports/rp2 -B build-RPI_PICO -DMICROPY_BOARD=RPI_PICO \
#         -DMICROPY_BOARD_DIR=<emlml>/boards/RPI_PICO && make -C build-RPI_PICO
# or `emlml firmware RPI_PICO`. Takes PICO_BOARD/PICO_PLATFORM from the stock board.
include(${CMAKE_CURRENT_LIST_DIR}/../emlml_board.cmake)
emlml_stock_board(RPI_PICO)
