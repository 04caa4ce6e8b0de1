# emlml as a user C module of the CMake ports (esp32, rp2):
#   make USER_C_MODULES=<path to the emlml checkout>/micropython_module/micropython.cmake
# Sources: those of the native .mpy (Makefile), without its glue emlml_natmod.c.
add_library(usermod_emlml INTERFACE)
set(EMLML_SRC
    ${CMAKE_CURRENT_LIST_DIR}/modemlml.c
    ${CMAKE_CURRENT_LIST_DIR}/core/emlml_blob.c
    ${CMAKE_CURRENT_LIST_DIR}/core/emlml_status.c
    ${CMAKE_CURRENT_LIST_DIR}/core/emlml_math.c
    ${CMAKE_CURRENT_LIST_DIR}/trees/emlml_trees.c
    ${CMAKE_CURRENT_LIST_DIR}/knn/emlml_knn.c
    ${CMAKE_CURRENT_LIST_DIR}/cnn/emlml_cnn.c
    ${CMAKE_CURRENT_LIST_DIR}/cnn/emlml_cnn_load.c)
target_sources(usermod_emlml INTERFACE ${EMLML_SRC})
target_include_directories(usermod_emlml INTERFACE ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_LIST_DIR}/core)
# Exact float32 order (no fused multiply-add) and no errno from sqrtf: emlml's files only.
set_source_files_properties(${EMLML_SRC} PROPERTIES COMPILE_OPTIONS "-ffp-contract=off;-fno-math-errno")
target_link_libraries(usermod INTERFACE usermod_emlml)
