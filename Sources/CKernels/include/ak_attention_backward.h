#ifndef AK_ATTENTION_BACKWARD_H
#define AK_ATTENTION_BACKWARD_H

#include <stddef.h>

#endif
