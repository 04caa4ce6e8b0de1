# emlml as a user C module of the CMake ports (esp32, rp2):
#   make USER_C_MODULES=<path to the emlml checkout>/micropython_module/micropython.cmake
# Sources: the core's one list, emlml_sources.txt (lines starting with '#' are comments,
# blank lines are dropped by file(STRINGS)), and the binding modemlml.c (the native
# .mpy's glue emlml_natmod.c is not for firmware).
add_library(usermod_emlml INTERFACE)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/emlml_sources.txt EMLML_CORE REGEX "^[^#]")
list(TRANSFORM EMLML_CORE PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
set(EMLML_SRC ${CMAKE_CURRENT_LIST_DIR}/modemlml.c ${EMLML_CORE})
# A change to the list re-runs CMake.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/emlml_sources.txt)
target_sources(usermod_emlml INTERFACE ${EMLML_SRC})
target_include_directories(usermod_emlml INTERFACE ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_LIST_DIR}/core)
# Every model family (a firmware has the room); -DEMLML_WITH_CNN=0 (or EMLML_WITH_TREES,
# EMLML_WITH_KNN) on the cmake command line leaves one out as the single-family .mpy do:
# its files then compile to nothing (core/emlml_config.h).
foreach(family TREES KNN CNN)
    if(DEFINED EMLML_WITH_${family})
        target_compile_definitions(usermod_emlml INTERFACE EMLML_WITH_${family}=${EMLML_WITH_${family}})
    endif()
endforeach()
# Exact float32 order (no fused multiply-add) and no errno from sqrtf: emlml's files only.
set_source_files_properties(${EMLML_SRC} PROPERTIES COMPILE_OPTIONS "-ffp-contract=off;-fno-math-errno")
target_link_libraries(usermod INTERFACE usermod_emlml)
