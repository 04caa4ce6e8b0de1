// Limits of this build of the emlml core. A blob that exceeds them is refused at load.
#ifndef EMLML_CONFIG_H
#define EMLML_CONFIG_H

// emlml's release, as emlml.__version__ reports it. The one C spelling: the binding
// (modemlml.c, emlml_natmod.c) and py_tools' generated format/c_tables.py take it from here.
#define EMLML_VERSION "0.1.0"

#define EMLML_MAGIC "EMLB"
// Blob format versions this build reads (the header's version field, docs/FORMAT.md):
// not the release above.
#define EMLML_VERSION_MIN 1
#define EMLML_VERSION_MAX 1
#define EMLML_HEADER_SIZE 48u
#define EMLML_SECTION_ENTRY_SIZE 12u
#define EMLML_MAX_SECTIONS 16u

#define EMLML_MAX_INPUTS 65534u    // feature indices are u16; 0xFFFF marks a tree leaf
#define EMLML_MAX_OUTPUTS 65535u
#define EMLML_MAX_TREES 65535u
#define EMLML_MAX_KNN_K 1024u

#endif // EMLML_CONFIG_H
