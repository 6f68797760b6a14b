/* coffer-input.h: what the clients and the agent take from a user: the files
 * a user names, and names that are not UTF-8. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The most a file of each kind may hold; a bigger one is refused before it
 * is read. A passphrase, an account key, a SAS or a proxy password is one
 * line; a vault credentials file is a small JSON document. */
#define COFFER_INPUT_SECRET_MAX_SIZE (64 * 1024)
#define COFFER_INPUT_CREDENTIALS_MAX_SIZE (64 * 1024)

int coffer_input_file_open (const char *path, gsize max_size, GError **error);
char *coffer_input_file_read (const char *path, gsize max_size, gsize *out_length, GError **error);
gboolean coffer_input_fd_check (int fd, const char *what, gsize max_size, GError **error);
GBytes *coffer_input_fd_read (int fd, const char *what, gsize max_size, GError **error);

char *coffer_input_escape (const char *name, gssize length);

G_END_DECLS
