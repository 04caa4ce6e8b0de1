// Limits of this build of the emlml core. A blob that exceeds them is refused at load.
#ifndef EMLML_CONFIG_H
#define EMLML_CONFIG_H

#define EMLML_MAGIC "EMLB"
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
