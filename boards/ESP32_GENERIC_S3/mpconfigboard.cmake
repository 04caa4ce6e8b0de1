# MicroPython's ESP32_GENERIC_S3 (8 MiB flash) with emlml built in and a 1 MiB ROMFS at /rom.
# Out-of-tree board (MicroPython >= 1.25, ESP-IDF as that release's ports/esp32/README.md says):
#   make -C $MICROPY_DIR/ports/esp32 BOARD_DIR=<emlml>/boards/ESP32_GENERIC_S3
# or `emlml firmware ESP32_GENERIC_S3`. The stock board's variants (SPIRAM_OCT, ...) are not
# offered here; the table below needs 8 MiB of flash, as the stock board assumes.
include(${CMAKE_CURRENT_LIST_DIR}/../emlml_board.cmake)
emlml_stock_board(ESP32_GENERIC_S3)
emlml_esp32_partition_table(${MICROPY_BOARD_DIR}/partitions-8MiB-romfs.csv)
