/* coffer-paths.h: where Coffer keeps its state and cache on this machine. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *coffer_paths_state_dir (void);
char *coffer_paths_default_cache_dir (void);
gboolean coffer_paths_ensure_private_dir (const char *path, GError **error);
gboolean coffer_paths_is_on_network (const char *path);

G_END_DECLS
