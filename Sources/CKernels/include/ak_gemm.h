#ifndef AK_GEMM_H
#define AK_GEMM_H

#include <stddef.h>

#endif
