#ifndef AK_OPS_H
#define AK_OPS_H

#include <stddef.h>

#endif
