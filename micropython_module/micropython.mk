# emlml as a user C module of a make port (unix, stm32, ...). py/py.mk includes
# $(USER_C_MODULES)/*/micropython.mk, so name the folder that holds micropython_module/:
#   make USER_C_MODULES=<path to the emlml checkout>
# Sources: the core's one list, emlml_sources.txt ('#' lines are comments), and the
# binding modemlml.c (the native .mpy's glue emlml_natmod.c is not for firmware). '#'
# is passed through a variable, the one spelling GNU make before and after 4.3 agree on.
EMLML_HASH := \#
EMLML_CORE := $(shell sed -e '/^$(EMLML_HASH)/d' $(USERMOD_DIR)/emlml_sources.txt)
ifeq ($(EMLML_CORE),)
$(error no C sources read from $(USERMOD_DIR)/emlml_sources.txt)
endif
SRC_USERMOD_C += $(USERMOD_DIR)/modemlml.c
SRC_USERMOD_LIB_C += $(addprefix $(USERMOD_DIR)/,$(EMLML_CORE))
CFLAGS_USERMOD += -I$(USERMOD_DIR) -I$(USERMOD_DIR)/core
# Every model family (a firmware has the room); `make ... EMLML_WITH_CNN=0` (or
# EMLML_WITH_TREES, EMLML_WITH_KNN) leaves one out as the single-family .mpy do: its files
# then compile to nothing (core/emlml_config.h).
CFLAGS_USERMOD += $(foreach f,TREES KNN CNN,$(if $(EMLML_WITH_$(f)),-DEMLML_WITH_$(f)=$(EMLML_WITH_$(f))))

# Exact float32 order (no fused multiply-add) and no errno from sqrtf: emlml's files only.
$(BUILD)/$(notdir $(USERMOD_DIR))/%.o: CFLAGS += -ffp-contract=off -fno-math-errno
