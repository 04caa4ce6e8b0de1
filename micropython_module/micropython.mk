# emlml as a user C module of a make port (unix, stm32, ...). py/py.mk includes
# $(USER_C_MODULES)/*/micropython.mk, so name the folder that holds micropython_module/:
#   make USER_C_MODULES=<path to the emlml checkout>
# Sources: those of the native .mpy (Makefile), without its glue emlml_natmod.c.
EMLML_CORE := core/emlml_blob.c core/emlml_status.c core/emlml_math.c \
              trees/emlml_trees.c knn/emlml_knn.c cnn/emlml_cnn.c cnn/emlml_cnn_load.c
SRC_USERMOD_C += $(USERMOD_DIR)/modemlml.c
SRC_USERMOD_LIB_C += $(addprefix $(USERMOD_DIR)/,$(EMLML_CORE))
CFLAGS_USERMOD += -I$(USERMOD_DIR) -I$(USERMOD_DIR)/core

# Exact float32 order (no fused multiply-add) and no errno from sqrtf: emlml's files only.
$(BUILD)/$(notdir $(USERMOD_DIR))/%.o: CFLAGS += -ffp-contract=off -fno-math-errno
