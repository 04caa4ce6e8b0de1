# MicroPython's ESP32_GENERIC (4 MiB flash) with emlml built in and a 256 KiB ROMFS at /rom.
# Out-of-tree board (MicroPython >= 1.25, ESP-IDF as that release's ports/esp32/README.md says):
#   make -C $MICROPY_DIR/ports/esp32 BOARD_DIR=<emlml>/boards/ESP32_GENERIC
# or `emlml firmware ESP32_GENERIC`. The stock board's variants (SPIRAM, OTA, ...) are not
# offered here.
include(${CMAKE_CURRENT_LIST_DIR}/../emlml_board.cmake)
emlml_stock_board(ESP32_GENERIC)
emlml_esp32_partition_table(${MICROPY_BOARD_DIR}/partitions-4MiB-romfs.csv)
