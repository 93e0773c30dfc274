/* l_text.h — shared between the text binding files (l_text.c, l_text_build.c, l_data.c). */
#ifndef RT_L_TEXT_H
#define RT_L_TEXT_H
#include "lrt.h"
#include "../text/tokenizer.h"
#include "../text/segment.h"

rt_tokenizer *rtl_check_tokenizer(lua_State *L, int idx);   /* borrowed */
void rtl_push_tokenizer(lua_State *L, rt_tokenizer *t);      /* takes ownership; NULL raises */
rt_segmenter *rtl_check_segmenter(lua_State *L, int idx);   /* borrowed */
void rtl_open_text_build(lua_State *L, int rt);              /* rt.vocab, rt.segment */

#endif
