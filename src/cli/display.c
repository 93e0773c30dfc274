/* display.c — rt.display(x) and rt.display_png(path): rich output for notebooks.
 * The notebook runner installs a sink that turns them into display_data outputs;
 * in the REPL and scripts they print one short line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "../core/sys.h"

static cli_display_sink g_sink;
static void *g_sink_ud;

void cli_display_set_sink(cli_display_sink sink, void *ud) { g_sink = sink; g_sink_ud = ud; }

static const unsigned char PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* rt.display_png(path_or_bytes): show a PNG image (a file path, or the PNG bytes). */
static int l_display_png(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char *data = NULL;
    size_t len = 0;
    if (n >= 8 && memcmp(s, PNG_MAGIC, 8) == 0) {
        data = malloc(n);
        if (data) memcpy(data, s, n);
        len = n;
    } else {
        uint8_t *bytes;
        if (rt_read_file(s, &bytes, &len)) return luaL_error(L, "rt.display_png: %s", rt_last_error());
        data = (char *)bytes;
        if (len < 8 || memcmp(data, PNG_MAGIC, 8) != 0) {
            free(data);
            return luaL_error(L, "rt.display_png: '%s' is not a PNG file", s);
        }
    }
    if (!data) return luaL_error(L, "rt.display_png: out of memory");
    if (g_sink) {
        g_sink(L, "image/png", data, len, g_sink_ud);
    } else if (n < 8 || memcmp(s, PNG_MAGIC, 8) != 0) {
        printf("[image %s, %zu bytes]\n", s, len);
    } else {
        printf("[image, %zu bytes]\n", len);
    }
    free(data);
    return 0;
}

/* rt.display(x): a PNG path/bytes shows the picture; anything else its pretty text. */
static int l_display(lua_State *L) {
    luaL_checkany(L, 1);
    if (lua_type(L, 1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, 1, &n);
        if ((n >= 8 && memcmp(s, PNG_MAGIC, 8) == 0) || (n > 4 && strcmp(s + n - 4, ".png") == 0)) {
            lua_pushcfunction(L, l_display_png);
            lua_pushvalue(L, 1);
            lua_call(L, 1, 0);
            return 0;
        }
    }
    cli_pretty(L, 1);
    size_t n;
    const char *text = lua_tolstring(L, -1, &n);
    if (g_sink) g_sink(L, "text/plain", text, n, g_sink_ud);
    else { fwrite(text, 1, n, stdout); fputc('\n', stdout); }
    return 0;
}

void cli_display_install(lua_State *L, int rt) {
    static const rtl_reg regs[] = {
        {"display", l_display,
         "rt.display(x): show x in a notebook cell (a .png path or PNG bytes as an image,\n"
         "anything else as its pretty-printed text). In the REPL it prints."},
        {"display_png", l_display_png,
         "rt.display_png(path_or_bytes): show a PNG picture in the notebook output\n"
         "(display_data image/png). Plotting code calls it; the REPL prints the path."},
        {NULL, NULL, NULL}};
    rtl_register(L, rt, "rt", regs);
}
