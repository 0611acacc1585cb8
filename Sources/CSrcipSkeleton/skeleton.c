#include "srcip_skeleton.h"
