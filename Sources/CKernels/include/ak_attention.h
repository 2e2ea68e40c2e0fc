#ifndef AK_ATTENTION_H
#define AK_ATTENTION_H

#include <stddef.h>

#endif
