/* version: VWALL_VERSION, the version string ("0.1.0", or `git describe` when built from a
 * git checkout), generated at every build by cmake/version.cmake. */
#ifndef VW_VERSION_H
#define VW_VERSION_H

#include "vwall_version.h"

#endif
