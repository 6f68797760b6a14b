/* coffer-secret.c: where the passphrase (and later the proxy password) is kept.
 *
 * Secrets go to the Secret Service (GNOME Keyring, KWallet…) through
 * libsecret, in the collection behind the "default" alias, as items of the
 * schema "io.github.coffer.Secret" with the attributes "kind" and "id".
 * Nothing here ever prompts: the agent runs without anyone to answer, so a
 * locked keyring is reported (COFFER_ERROR_KEYRING_LOCKED) and never
 * unlocked. Where no Secret Service answers on the session bus, or it has no
 * default collection, the secret goes to a file instead:
 * STATE_DIR/secrets/KIND-ID, mode 0600 in a 0700 folder, written atomically.
 *
 * Collections and items are never loaded into libsecret's cache
 * (SECRET_SERVICE_LOAD_COLLECTIONS): a cached proxy's "Locked" property is
 * only updated when the main context that created it runs, so every call
 * asks the service afresh instead.
 */
#include "config.h"

#include "coffer-secret.h"

#include "coffer-error.h"
#include "coffer-paths.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCKED_MESSAGE "The keyring is locked; unlock it or log in to run scheduled backups"
#define SECRET_MAX_SIZE (64 * 1024)

static const SecretSchema coffer_secret_schema = {
  "io.github.coffer.Secret",
  SECRET_SCHEMA_NONE,
  {
      { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "id", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
  },
};

/**
 * coffer_secret_backend_to_string:
 * @backend: a backend
 *
 * Returns: how `coffer status` names @backend
 */
const char *
coffer_secret_backend_to_string (CofferSecretBackend backend)
{
  switch (backend)
    {
      case COFFER_SECRET_BACKEND_NONE:
        return "none";
      case COFFER_SECRET_BACKEND_SERVICE:
        return "Secret Service";
      case COFFER_SECRET_BACKEND_FILE:
        return "file";
      default:
        g_return_val_if_reached ("none");
    }
}

static const char *
kind_to_string (CofferSecretKind kind)
{
  return kind == COFFER_SECRET_PROXY_PASSWORD ? "proxy-password" : "passphrase";
}

/* The id becomes part of a file name. */
static gboolean
check_id (const char *id, GError **error)
{
  gsize length = strlen (id);

  if (length == 0 || length > 200 || id[0] == '.' || strchr (id, '/') != NULL)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                   "“%s” cannot name a secret: it must be 1 to 200 characters, without “/” and "
                   "not starting with “.”",
                   id);
      return FALSE;
    }
  for (const char *c = id; *c != '\0'; c++)
    {
      if ((guchar) *c < 0x20 || *c == 0x7f)
        {
          g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_INVALID_ARGUMENT,
                               "A secret's name cannot contain control characters");
          return FALSE;
        }
    }
  return TRUE;
}

static void
set_locked_error (GError **error)
{
  g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_KEYRING_LOCKED, LOCKED_MESSAGE);
}

static void
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  int code;

  switch (saved_errno)
    {
      case EACCES:
      case EPERM:
      case EROFS:
        code = COFFER_ERROR_PERMISSION_DENIED;
        break;
      case ENOSPC:
      case EDQUOT:
        code = COFFER_ERROR_NO_SPACE;
        break;
      default:
        code = COFFER_ERROR_FAILED;
        break;
    }
  g_set_error (error, COFFER_ERROR, code, "%s %s: %s", what, path, g_strerror (saved_errno));
}

/* ---- The file ---------------------------------------------------------- */

static char *
secret_dir (const char *state_dir)
{
  return g_build_filename (state_dir, "secrets", NULL);
}

static char *
secret_path (const char *state_dir, CofferSecretKind kind, const char *id)
{
  g_autofree char *name = g_strdup_printf ("%s-%s", kind_to_string (kind), id);

  return g_build_filename (state_dir, "secrets", name, NULL);
}

static gboolean
ensure_private_dir (const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  int code = COFFER_ERROR_FAILED;

  if (coffer_paths_ensure_private_dir (path, &local_error))
    return TRUE;

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    code = COFFER_ERROR_PERMISSION_DENIED;
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    code = COFFER_ERROR_NO_SPACE;
  g_set_error_literal (error, COFFER_ERROR, code, local_error->message);
  return FALSE;
}

static gboolean
write_all (int fd, const char *data, gsize size)
{
  while (size > 0)
    {
      ssize_t written = write (fd, data, size);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        return FALSE;
      data += written;
      size -= written;
    }
  return TRUE;
}

/* Written to a temporary file made 0600 from its creation (mkstemp), synced,
 * then renamed over the old one: never a moment readable by others, never
 * half written. */
static gboolean
file_store (const char *state_dir,
            CofferSecretKind kind,
            const char *id,
            const char *secret,
            GError **error)
{
  g_autofree char *dir = secret_dir (state_dir);
  g_autofree char *path = secret_path (state_dir, kind, id);
  g_autofree char *tmp = g_build_filename (dir, ".new-XXXXXX", NULL);
  int fd;
  int dir_fd;

  if (!ensure_private_dir (state_dir, error) || !ensure_private_dir (dir, error))
    return FALSE;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_errno_error (error, errno, "Cannot create a file in", dir);
      return FALSE;
    }

  if (fchmod (fd, 0600) != 0 || !write_all (fd, secret, strlen (secret)) || fsync (fd) != 0)
    {
      int saved_errno = errno;
      close (fd);
      g_unlink (tmp);
      set_errno_error (error, saved_errno, "Cannot write", tmp);
      return FALSE;
    }
  if (close (fd) != 0 || g_rename (tmp, path) != 0)
    {
      int saved_errno = errno;
      g_unlink (tmp);
      set_errno_error (error, saved_errno, "Cannot write", path);
      return FALSE;
    }

  /* The rename is durable once the folder is synced; a failure here leaves
   * the new file in place, so it is only noted. */
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || fsync (dir_fd) != 0)
    g_debug ("Cannot sync the folder %s: %s", dir, g_strerror (errno));
  if (dir_fd >= 0)
    close (dir_fd);
  return TRUE;
}

/* Returns NULL without an error when there is no file. */
static char *
file_lookup (const char *state_dir, CofferSecretKind kind, const char *id, GError **error)
{
  g_autofree char *path = secret_path (state_dir, kind, id);
  char buffer[SECRET_MAX_SIZE + 1];
  gsize size = 0;
  struct stat st;
  char *secret = NULL;
  int fd;

  /* O_NONBLOCK: a fifo at the name must not hang the agent; its type is
   * refused below. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      if (errno != ENOENT)
        set_errno_error (error, errno, "Cannot read the secret file", path);
      return NULL;
    }

  if (fstat (fd, &st) != 0)
    {
      set_errno_error (error, errno, "Cannot read the secret file", path);
      close (fd);
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || st.st_uid != getuid () || (st.st_mode & 0077) != 0)
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_PERMISSION_DENIED,
                   "The secret file %s is not private to you, so Coffer will not use it; make it "
                   "yours and readable only by you (chmod 600), or save the secret again",
                   path);
      close (fd);
      return NULL;
    }

  while (size < sizeof buffer)
    {
      ssize_t got = read (fd, buffer + size, sizeof buffer - size);

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          set_errno_error (error, errno, "Cannot read the secret file", path);
          goto out;
        }
      if (got == 0)
        break;
      size += got;
    }

  if (size > SECRET_MAX_SIZE || memchr (buffer, '\0', size) != NULL ||
      !g_utf8_validate (buffer, size, NULL))
    {
      g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                   "The secret file %s is damaged: it does not hold a text secret", path);
      goto out;
    }
  secret = g_strndup (buffer, size);

out:
  OPENSSL_cleanse (buffer, sizeof buffer);
  close (fd);
  return secret;
}

static gboolean
file_clear (const char *state_dir, CofferSecretKind kind, const char *id, GError **error)
{
  g_autofree char *path = secret_path (state_dir, kind, id);

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      set_errno_error (error, errno, "Cannot remove the secret file", path);
      return FALSE;
    }
  return TRUE;
}

/* ---- The Secret Service ------------------------------------------------ */

/* Whether @error means that no Secret Service is there to answer: no session
 * bus, or nobody owning (or activatable as) org.freedesktop.secrets. A
 * service that is there but fails or times out is not a reason to write the
 * secret to a file. */
static gboolean
service_is_missing (const GError *error)
{
  if (error->domain == G_IO_ERROR)
    return error->code != G_IO_ERROR_CANCELLED && error->code != G_IO_ERROR_TIMED_OUT &&
           error->code != G_IO_ERROR_DBUS_ERROR;

  if (error->domain == G_DBUS_ERROR)
    {
      switch (error->code)
        {
          case G_DBUS_ERROR_SERVICE_UNKNOWN:
          case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
          case G_DBUS_ERROR_NO_SERVER:
          case G_DBUS_ERROR_DISCONNECTED:
          case G_DBUS_ERROR_FILE_NOT_FOUND:
          case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
          case G_DBUS_ERROR_SPAWN_FORK_FAILED:
          case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
          case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
          case G_DBUS_ERROR_SPAWN_FAILED:
          case G_DBUS_ERROR_SPAWN_SETUP_FAILED:
          case G_DBUS_ERROR_SPAWN_CONFIG_INVALID:
          case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
          case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
          case G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID:
          case G_DBUS_ERROR_SPAWN_FILE_INVALID:
          case G_DBUS_ERROR_SPAWN_NO_MEMORY:
            return TRUE;
          default:
            return FALSE;
        }
    }
  return FALSE;
}

static void
propagate_service_error (GError **error, GError *local_error, const char *what)
{
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_set_error_literal (error, COFFER_ERROR, COFFER_ERROR_CANCELLED,
                         "The operation was cancelled");
  else if (g_error_matches (local_error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    set_locked_error (error);
  else
    g_set_error (error, COFFER_ERROR, COFFER_ERROR_FAILED, "%s: %s", what, local_error->message);
  g_error_free (local_error);
}

/* Sets *out_service to NULL (and returns TRUE) when no Secret Service is
 * there; returns FALSE with @error when it is there but failed. */
static gboolean
get_service (SecretService **out_service, GCancellable *cancellable, GError **error)
{
  GError *local_error = NULL;

  *out_service = secret_service_get_sync (SECRET_SERVICE_OPEN_SESSION, cancellable, &local_error);
  if (*out_service != NULL)
    return TRUE;

  if (service_is_missing (local_error))
    {
      g_debug ("No Secret Service: %s", local_error->message);
      g_error_free (local_error);
      return TRUE;
    }
  propagate_service_error (error, local_error, "Cannot reach the Secret Service");
  return FALSE;
}

static GHashTable *
secret_attributes (CofferSecretKind kind, const char *id)
{
  GHashTable *attributes = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (attributes, "kind", (char *) kind_to_string (kind));
  g_hash_table_insert (attributes, "id", (char *) id);
  return attributes;
}

static char *
secret_label (CofferSecretKind kind, const char *id)
{
  if (kind == COFFER_SECRET_PROXY_PASSWORD)
    return g_strdup ("Coffer proxy password");
  return g_strdup_printf ("Coffer encryption passphrase (%s)", id);
}

typedef enum
{
  SERVICE_STORED,
  SERVICE_NO_COLLECTION,
  SERVICE_MISSING,
  SERVICE_FAILED,
} ServiceStoreResult;

static ServiceStoreResult
service_store (SecretService *service,
               CofferSecretKind kind,
               const char *id,
               const char *secret,
               GCancellable *cancellable,
               GError **error)
{
  g_autoptr (SecretCollection) collection = NULL;
  g_autoptr (SecretItem) item = NULL;
  g_autoptr (SecretValue) value = NULL;
  g_autoptr (GHashTable) attributes = NULL;
  g_autofree char *label = NULL;
  GError *local_error = NULL;

  collection = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                                 SECRET_COLLECTION_NONE, cancellable, &local_error);
  if (local_error != NULL)
    {
      if (service_is_missing (local_error))
        {
          g_debug ("The Secret Service went away: %s", local_error->message);
          g_error_free (local_error);
          return SERVICE_MISSING;
        }
      propagate_service_error (error, local_error, "Cannot reach the Secret Service");
      return SERVICE_FAILED;
    }
  if (collection == NULL)
    return SERVICE_NO_COLLECTION;

  /* Creating an item in a locked collection would make the service prompt. */
  if (secret_collection_get_locked (collection))
    {
      set_locked_error (error);
      return SERVICE_FAILED;
    }

  attributes = secret_attributes (kind, id);
  label = secret_label (kind, id);
  value = secret_value_new (secret, -1, "text/plain");
  item = secret_item_create_sync (collection, &coffer_secret_schema, attributes, label, value,
                                  SECRET_ITEM_CREATE_REPLACE, cancellable, &local_error);
  if (item == NULL)
    {
      propagate_service_error (error, local_error, "Cannot store the secret in the Secret Service");
      return SERVICE_FAILED;
    }
  return SERVICE_STORED;
}

/**
 * coffer_secret_store:
 * @state_dir: the state folder, for the file used without a Secret Service
 * @kind: what the secret is
 * @id: whose it is (the machine id for a passphrase)
 * @secret: the secret
 * @out_backend: (out) (optional): where it went
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Keeps @secret in the Secret Service's default collection, replacing any
 * earlier one of the same kind and id, or in a private file when no Secret
 * Service answers or it has no default collection. Never prompts: a locked
 * keyring is %COFFER_ERROR_KEYRING_LOCKED. Blocks; call it from a worker
 * thread.
 *
 * Returns: %TRUE on success
 */
gboolean
coffer_secret_store (const char *state_dir,
                     CofferSecretKind kind,
                     const char *id,
                     const char *secret,
                     CofferSecretBackend *out_backend,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (SecretService) service = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (state_dir != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (secret != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_backend != NULL)
    *out_backend = COFFER_SECRET_BACKEND_NONE;
  if (!check_id (id, error) || !get_service (&service, cancellable, error))
    return FALSE;

  if (service != NULL)
    {
      switch (service_store (service, kind, id, secret, cancellable, error))
        {
          case SERVICE_STORED:
            /* An older copy in a file (from a time without a Secret Service)
           * must not outlive this one; failing to remove it does not undo
           * the store, so it is only noted. */
            if (!file_clear (state_dir, kind, id, &local_error))
              g_debug ("%s", local_error->message);
            if (out_backend != NULL)
              *out_backend = COFFER_SECRET_BACKEND_SERVICE;
            return TRUE;
          case SERVICE_NO_COLLECTION:
            g_debug ("The Secret Service has no default collection; keeping the %s in a file",
                     kind_to_string (kind));
            break;
          case SERVICE_MISSING:
            break;
          case SERVICE_FAILED:
          default:
            return FALSE;
        }
    }

  if (!file_store (state_dir, kind, id, secret, error))
    return FALSE;
  if (out_backend != NULL)
    *out_backend = COFFER_SECRET_BACKEND_FILE;
  return TRUE;
}

/* The secret of the first unlocked item; NULL with *out_locked when only
 * locked ones match; NULL alone when none does. */
static char *
service_lookup (SecretService *service,
                CofferSecretKind kind,
                const char *id,
                gboolean *out_missing,
                gboolean *out_locked,
                GCancellable *cancellable,
                GError **error)
{
  g_autoptr (GHashTable) attributes = secret_attributes (kind, id);
  GError *local_error = NULL;
  GList *items;
  char *secret = NULL;

  *out_missing = FALSE;
  *out_locked = FALSE;
  /* Without SECRET_SEARCH_UNLOCK: a locked item stays locked, unprompted. */
  items = secret_service_search_sync (service, &coffer_secret_schema, attributes,
                                      SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS, cancellable,
                                      &local_error);
  if (local_error != NULL)
    {
      if (service_is_missing (local_error))
        {
          g_debug ("The Secret Service went away: %s", local_error->message);
          g_error_free (local_error);
          *out_missing = TRUE;
          return NULL;
        }
      propagate_service_error (error, local_error, "Cannot search the Secret Service");
      return NULL;
    }

  for (GList *l = items; l != NULL && secret == NULL; l = l->next)
    {
      g_autoptr (SecretValue) value = NULL;
      const char *data;
      gsize size;

      if (secret_item_get_locked (l->data))
        {
          *out_locked = TRUE;
          continue;
        }
      value = secret_item_get_secret (l->data);
      if (value == NULL)
        {
          /* The service would not give it: it is locked after all. */
          *out_locked = TRUE;
          continue;
        }
      data = secret_value_get (value, &size);
      if (memchr (data, '\0', size) != NULL || !g_utf8_validate (data, size, NULL))
        {
          g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT,
                       "The %s kept in the Secret Service is not text; store it again",
                       kind_to_string (kind));
          break;
        }
      secret = g_strndup (data, size);
    }
  g_list_free_full (items, g_object_unref);

  if (secret != NULL)
    *out_locked = FALSE;
  return secret;
}

/**
 * coffer_secret_lookup:
 * @state_dir: the state folder, for the file used without a Secret Service
 * @kind: what the secret is
 * @id: whose it is
 * @out_backend: (out) (optional): where it was found
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Finds a secret stored by coffer_secret_store(): in the Secret Service
 * first, then in the file. Never prompts or unlocks: when the Secret Service
 * holds the secret only in a locked collection, the error is
 * %COFFER_ERROR_KEYRING_LOCKED. A file that others may read is refused with
 * %COFFER_ERROR_PERMISSION_DENIED. Blocks; call it from a worker thread.
 *
 * Returns: (transfer full) (nullable): the secret (free it with
 *   coffer_passphrase_free()), or %NULL — without an error and with
 *   @out_backend %COFFER_SECRET_BACKEND_NONE when nothing is stored
 */
char *
coffer_secret_lookup (const char *state_dir,
                      CofferSecretKind kind,
                      const char *id,
                      CofferSecretBackend *out_backend,
                      GCancellable *cancellable,
                      GError **error)
{
  g_autoptr (SecretService) service = NULL;
  GError *local_error = NULL;
  char *secret = NULL;

  g_return_val_if_fail (state_dir != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_backend != NULL)
    *out_backend = COFFER_SECRET_BACKEND_NONE;
  if (!check_id (id, error) || !get_service (&service, cancellable, error))
    return NULL;

  if (service != NULL)
    {
      gboolean missing;
      gboolean locked;

      secret = service_lookup (service, kind, id, &missing, &locked, cancellable, &local_error);
      if (secret != NULL)
        {
          if (out_backend != NULL)
            *out_backend = COFFER_SECRET_BACKEND_SERVICE;
          return secret;
        }
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return NULL;
        }
      if (locked)
        {
          set_locked_error (error);
          return NULL;
        }
    }

  secret = file_lookup (state_dir, kind, id, error);
  if (secret != NULL && out_backend != NULL)
    *out_backend = COFFER_SECRET_BACKEND_FILE;
  return secret;
}

/**
 * coffer_secret_clear:
 * @state_dir: the state folder
 * @kind: what the secret is
 * @id: whose it is
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Forgets a secret, from the file and from the Secret Service. Clearing one
 * that is not stored succeeds. Items in a locked collection cannot be
 * removed without prompting: that is %COFFER_ERROR_KEYRING_LOCKED (the file
 * is removed anyway). Blocks; call it from a worker thread.
 *
 * Returns: %TRUE when the secret is stored nowhere any more
 */
gboolean
coffer_secret_clear (const char *state_dir,
                     CofferSecretKind kind,
                     const char *id,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (SecretService) service = NULL;
  g_autoptr (GHashTable) attributes = NULL;
  GError *local_error = NULL;
  GList *remaining = NULL;

  g_return_val_if_fail (state_dir != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_id (id, error) || !file_clear (state_dir, kind, id, error) ||
      !get_service (&service, cancellable, error))
    return FALSE;
  if (service == NULL)
    return TRUE;

  /* Removes the unlocked items only (FALSE without an error when there
   * were none); whatever is left is locked. */
  attributes = secret_attributes (kind, id);
  secret_service_clear_sync (service, &coffer_secret_schema, attributes, cancellable, &local_error);
  if (local_error == NULL)
    remaining = secret_service_search_sync (service, &coffer_secret_schema, attributes,
                                            SECRET_SEARCH_ALL, cancellable, &local_error);
  if (local_error != NULL)
    {
      if (service_is_missing (local_error))
        {
          g_debug ("The Secret Service went away: %s", local_error->message);
          g_error_free (local_error);
          return TRUE;
        }
      propagate_service_error (error, local_error,
                               "Cannot remove the secret from the Secret Service");
      return FALSE;
    }
  if (remaining != NULL)
    {
      g_list_free_full (remaining, g_object_unref);
      set_locked_error (error);
      return FALSE;
    }
  return TRUE;
}
