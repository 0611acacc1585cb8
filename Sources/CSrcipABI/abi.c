/* The ABI target is header-only; this file gives SwiftPM a C source to build
 * and makes the header's _Static_asserts run on the host compiler too. */
#include "srcip_abi.h"
