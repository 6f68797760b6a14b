/* test-damage.c: a real vault, tampered with in every way a disk, a person or
 * another program can, then checked, repaired, checked again and recovered
 * from, through the CLI and the real agent.
 *
 * The fixture is built once per run: a source tree of ~30 files (some
 * spanning chunks, some tiny, an empty file, a hardlink, a symlink), two
 * backups with changes between them, so the vault holds two recovery points,
 * several data packs, a tree pack per backup and index files. The vault, the
 * agent's state folder and its cache folder are then copied aside; each case
 * starts from that copy with a fresh agent, so cases are independent.
 *
 * Each case tampers with one object (flip a byte, truncate, empty, delete,
 * swap in another object's bytes, add a foreign object, put a fifo in its
 * place), then asserts DESIGN.md §9: `coffer check --read-data` finds and
 * names the damage; `coffer check --repair` ends, never deletes anything
 * (what it cannot use goes to damaged/), and names what is lost; the check
 * after it passes; `coffer recover run latest` brings back every file whose
 * data survived, identical, and the files that did not come back are the
 * ones the check or the repair named; a second repair finds nothing. No CLI
 * call may take longer than CLI_TIMEOUT seconds.
 *
 * What is lost is worked out independently of the agent: the test opens the
 * pristine vault with libcoffer (keys, pack headers, trees) and knows, for
 * each file of each point, which blobs it needs. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer-test-util.h"
#include "coffer.h"

#define CLI_TIMEOUT 60
#define PASSPHRASE "correct horse battery staple"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- The cases ------------------------------------------------------------ */

typedef enum
{
  OBJ_DATA_PACK,     /* a data pack of the first backup, needed by the newest point */
  OBJ_DATA_PACK_NEW, /* the data pack the second backup wrote */
  OBJ_TREE_PACK,     /* the second backup's tree pack */
  OBJ_TREE_PACK_OLD, /* the first backup's: the newest point shares its unchanged folders */
  OBJ_INDEX,         /* the first backup's index file */
  OBJ_POINT_NEWEST,
  OBJ_POINT_OLDER,
  OBJ_KEY,
  OBJ_CONFIG,
  OBJ_MACHINE_JSON,
  OBJ_VAULT_JSON,
  OBJ_CREDENTIALS,
} ObjectKind;

static const char *const object_slugs[] = {
  "data-pack",   "data-pack-new", "tree-pack", "tree-pack-old", "index",      "point-newest",
  "point-older", "key",           "config",    "machine-json",  "vault-json", "credentials",
};

typedef enum
{
  TAMPER_FLIP,
  TAMPER_TRUNCATE,
  TAMPER_EMPTY,
  TAMPER_DELETE,
  TAMPER_SWAP,
  TAMPER_FOREIGN,
  TAMPER_FIFO,
} Tamper;

static const char *const tamper_slugs[] = {
  "flip", "truncate", "empty", "delete", "swap", "foreign", "fifo",
};

/* What must become of the tampered object once repaired. */
typedef enum
{
  AFTER_MOVED,     /* its bytes are somewhere under damaged/ */
  AFTER_REWRITTEN, /* the agent wrote it again in its place, from what it knows */
  AFTER_GONE,      /* nothing to keep (deleted), or a fifo, which must not stay */
  AFTER_ANY,       /* a foreign pack: unreferenced, the next prune's business */
  AFTER_ABSENT,    /* a missing credentials record: nothing to do */
} After;

static const char *const after_slugs[] = {
  "moved to damaged/", "rewritten", "gone", "left alone", "left absent",
};

#define EXIT(n) (1u << (n))

typedef struct
{
  ObjectKind object;
  Tamper tamper;
  guint check_exits;  /* the first check's allowed exit statuses: 1 damage, 0 nothing (or a note) */
  guint repair_exits; /* the repair's allowed exit statuses, a bit each */
  gboolean named;     /* the first check's failed items name the tampered object */
  After after;
} DamageCase;

/* Damage the repair mends: the check finds and names it, the repair ends
 * "completed with warnings" with its report. */
#define DAMAGE(object, tamper, after)                                                              \
  {                                                                                                \
    object, tamper, EXIT (1), EXIT (3), TRUE, after                                                \
  }

static const DamageCase cases[] = {
  /* Packs: what a damaged pack held is lost, and exactly the files that
   * needed it are named; the rest comes back. A flip costs at least the blob
   * it hits, at most the pack. */
  DAMAGE (OBJ_DATA_PACK, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_DATA_PACK, TAMPER_TRUNCATE, AFTER_MOVED),
  DAMAGE (OBJ_DATA_PACK, TAMPER_EMPTY, AFTER_MOVED),
  DAMAGE (OBJ_DATA_PACK, TAMPER_DELETE, AFTER_GONE),
  DAMAGE (OBJ_DATA_PACK, TAMPER_SWAP, AFTER_MOVED),
  /* A pack no index names is a note ("unreferenced"), not damage; one whose
   * header does not even open may be called damage instead, and then moved.
   * Either way the check after the repair passes. */
  { OBJ_DATA_PACK, TAMPER_FOREIGN, EXIT (0) | EXIT (1), EXIT (0) | EXIT (3), FALSE, AFTER_ANY },
  DAMAGE (OBJ_DATA_PACK, TAMPER_FIFO, AFTER_GONE),
  DAMAGE (OBJ_DATA_PACK_NEW, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_DATA_PACK_NEW, TAMPER_DELETE, AFTER_GONE),
  /* A lost tree loses its folder's entries; a lost root loses its point. */
  DAMAGE (OBJ_TREE_PACK, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_TREE_PACK, TAMPER_TRUNCATE, AFTER_MOVED),
  DAMAGE (OBJ_TREE_PACK, TAMPER_EMPTY, AFTER_MOVED),
  DAMAGE (OBJ_TREE_PACK, TAMPER_DELETE, AFTER_GONE),
  DAMAGE (OBJ_TREE_PACK, TAMPER_SWAP, AFTER_MOVED),
  DAMAGE (OBJ_TREE_PACK, TAMPER_FIFO, AFTER_GONE),
  DAMAGE (OBJ_TREE_PACK_OLD, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_TREE_PACK_OLD, TAMPER_DELETE, AFTER_GONE),
  /* The index is rebuilt from the pack headers: nothing is lost. */
  DAMAGE (OBJ_INDEX, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_INDEX, TAMPER_TRUNCATE, AFTER_MOVED),
  DAMAGE (OBJ_INDEX, TAMPER_EMPTY, AFTER_MOVED),
  /* Damage, but nothing left in the vault says which file was there: the
   * check need not name it. */
  { OBJ_INDEX, TAMPER_DELETE, EXIT (1), EXIT (3), FALSE, AFTER_GONE },
  DAMAGE (OBJ_INDEX, TAMPER_SWAP, AFTER_MOVED),
  DAMAGE (OBJ_INDEX, TAMPER_FOREIGN, AFTER_MOVED),
  DAMAGE (OBJ_INDEX, TAMPER_FIFO, AFTER_GONE),
  /* A damaged point is lost; the catalog knows it, so even a deleted one is
   * damage. The other point stays, and "latest" is the newest that does. */
  DAMAGE (OBJ_POINT_NEWEST, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_POINT_NEWEST, TAMPER_TRUNCATE, AFTER_MOVED),
  DAMAGE (OBJ_POINT_NEWEST, TAMPER_EMPTY, AFTER_MOVED),
  DAMAGE (OBJ_POINT_NEWEST, TAMPER_DELETE, AFTER_GONE),
  DAMAGE (OBJ_POINT_NEWEST, TAMPER_SWAP, AFTER_MOVED),
  DAMAGE (OBJ_POINT_NEWEST, TAMPER_FIFO, AFTER_GONE),
  DAMAGE (OBJ_POINT_OLDER, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_POINT_OLDER, TAMPER_TRUNCATE, AFTER_MOVED),
  DAMAGE (OBJ_POINT_OLDER, TAMPER_EMPTY, AFTER_MOVED),
  DAMAGE (OBJ_POINT_OLDER, TAMPER_DELETE, AFTER_GONE),
  DAMAGE (OBJ_POINT_OLDER, TAMPER_SWAP, AFTER_MOVED),
  DAMAGE (OBJ_POINT_OLDER, TAMPER_FOREIGN, AFTER_MOVED),
  DAMAGE (OBJ_POINT_OLDER, TAMPER_FIFO, AFTER_GONE),
  /* The agent knows the keys, the chunker parameters and its own and its
   * vault's identity: it writes these again. A foreign key file is moved. */
  DAMAGE (OBJ_KEY, TAMPER_FLIP, AFTER_REWRITTEN),
  DAMAGE (OBJ_KEY, TAMPER_TRUNCATE, AFTER_REWRITTEN),
  DAMAGE (OBJ_KEY, TAMPER_EMPTY, AFTER_REWRITTEN),
  DAMAGE (OBJ_KEY, TAMPER_DELETE, AFTER_REWRITTEN),
  DAMAGE (OBJ_KEY, TAMPER_FOREIGN, AFTER_MOVED),
  DAMAGE (OBJ_KEY, TAMPER_FIFO, AFTER_REWRITTEN),
  DAMAGE (OBJ_CONFIG, TAMPER_FLIP, AFTER_REWRITTEN),
  DAMAGE (OBJ_CONFIG, TAMPER_TRUNCATE, AFTER_REWRITTEN),
  DAMAGE (OBJ_CONFIG, TAMPER_EMPTY, AFTER_REWRITTEN),
  DAMAGE (OBJ_CONFIG, TAMPER_DELETE, AFTER_REWRITTEN),
  DAMAGE (OBJ_CONFIG, TAMPER_FIFO, AFTER_REWRITTEN),
  DAMAGE (OBJ_MACHINE_JSON, TAMPER_FLIP, AFTER_REWRITTEN),
  DAMAGE (OBJ_MACHINE_JSON, TAMPER_TRUNCATE, AFTER_REWRITTEN),
  DAMAGE (OBJ_MACHINE_JSON, TAMPER_EMPTY, AFTER_REWRITTEN),
  DAMAGE (OBJ_MACHINE_JSON, TAMPER_DELETE, AFTER_REWRITTEN),
  DAMAGE (OBJ_MACHINE_JSON, TAMPER_FIFO, AFTER_REWRITTEN),
  DAMAGE (OBJ_VAULT_JSON, TAMPER_FLIP, AFTER_REWRITTEN),
  DAMAGE (OBJ_VAULT_JSON, TAMPER_TRUNCATE, AFTER_REWRITTEN),
  DAMAGE (OBJ_VAULT_JSON, TAMPER_EMPTY, AFTER_REWRITTEN),
  DAMAGE (OBJ_VAULT_JSON, TAMPER_DELETE, AFTER_REWRITTEN),
  DAMAGE (OBJ_VAULT_JSON, TAMPER_FIFO, AFTER_REWRITTEN),
  /* The credentials record is not this server's to regenerate (it does not
   * know the secret): a damaged one is moved away, and a vault without one
   * — before its first credentials file, or after that repair — is sound. */
  DAMAGE (OBJ_CREDENTIALS, TAMPER_FLIP, AFTER_MOVED),
  DAMAGE (OBJ_CREDENTIALS, TAMPER_TRUNCATE, AFTER_MOVED),
  DAMAGE (OBJ_CREDENTIALS, TAMPER_EMPTY, AFTER_MOVED),
  { OBJ_CREDENTIALS, TAMPER_DELETE, EXIT (0), EXIT (0), FALSE, AFTER_ABSENT },
  DAMAGE (OBJ_CREDENTIALS, TAMPER_FIFO, AFTER_GONE),
};

/* ---- The fixture ------------------------------------------------------------ */

/* One entry below the source folder, as lstat() sees it. */
typedef struct
{
  char type; /* 'f' file, 'd' folder, 'l' symlink */
  guint32 mode;
  gint64 mtime_ns;
  guint64 size;
  char *sha256;  /* files */
  char *target;  /* symlinks */
  guint64 inode; /* files with more than one name; 0 otherwise */
} Entry;

static void
entry_free (Entry *entry)
{
  g_free (entry->sha256);
  g_free (entry->target);
  g_free (entry);
}

typedef struct
{
  char *name;      /* 64 hex digits */
  char *object;    /* its path in the vault */
  guint8 type;     /* COFFER_BLOB_DATA or COFFER_BLOB_TREE */
  GArray *entries; /* CofferPackEntry */
  gboolean second; /* written by the second backup */
  guint64 size;
} Pack;

typedef struct
{
  char *id;
  gint64 time;
  char *root;        /* its root tree, hex */
  GHashTable *needs; /* path below the source -> GPtrArray of the blob ids (hex) it needs */
} Point;

static struct
{
  gboolean built;
  char *work;
  char *source;             /* the folder backed up */
  char *vault;              /* where each case's vault is */
  char *pristine;           /* the untouched copies */
  char *machine;            /* "machines/ID" */
  char *key;                /* its key file, in the vault */
  char *index_old;          /* the first backup's index file */
  char *index_new;          /* the second's */
  GHashTable *manifest[2];  /* the source at each backup: path -> Entry */
  Point point[2];           /* [0] the older point, [1] the newest */
  GPtrArray *packs;         /* Pack */
  GHashTable *blob_packs;   /* blob hex -> GPtrArray of the Packs holding it */
  GHashTable *pristine_sha; /* every object of the vault -> its SHA-256 */
  Pack *data_pack, *data_pack_other, *data_pack_new, *tree_pack, *tree_pack_old;
  guint tried, detected, recovered;
} fx;

/* ---- Small helpers ------------------------------------------------------- */

static void
run_or_die (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s failed: %s", argv[0], argv[1], err);
}

static void
copy_tree (const char *from, const char *to)
{
  const char *argv[] = { "cp", "-a", from, to, NULL };

  run_or_die (argv);
}

static void
remove_tree (const char *path)
{
  const char *argv[] = { "rm", "-rf", path, NULL };

  run_or_die (argv);
}

static char *
sha256_of_file (const char *path)
{
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, NULL);

  if (mapped == NULL)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *) g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

static char *
random_hex (gsize digits)
{
  GString *hex = g_string_new (NULL);

  while (hex->len < digits)
    g_string_append_printf (hex, "%08x", g_test_rand_int ());
  g_string_truncate (hex, digits);
  return g_string_free (hex, FALSE);
}

static void
write_random (const char *path, gsize size, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autofree guint32 *data = g_new (guint32, size / 4 + 1);

  for (gsize i = 0; i < size / 4 + 1; i++)
    data[i] = g_rand_int (rand);
  g_assert_true (g_file_set_contents (path, (const char *) data, size, NULL));
}

static void
write_text (const char *path, guint lines, const char *what)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < lines; i++)
    g_string_append_printf (text, "%u: %s, line %u of %u\n", i, what, i + 1, lines);
  g_assert_true (g_file_set_contents (path, text->str, text->len, NULL));
  g_string_free (text, TRUE);
}

static char *
source_path (const char *relative)
{
  return g_build_filename (fx.source, relative, NULL);
}

/* Every entry below @root (a folder), keyed by its path below it. */
static void
scan_tree (const char *root, const char *relative, GHashTable *out)
{
  g_autofree char *path =
      relative[0] != '\0' ? g_build_filename (root, relative, NULL) : g_strdup (root);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child_relative =
          relative[0] != '\0' ? g_strconcat (relative, "/", name, NULL) : g_strdup (name);
      g_autofree char *child = g_build_filename (path, name, NULL);
      Entry *entry = g_new0 (Entry, 1);
      struct stat st;

      g_assert_cmpint (lstat (child, &st), ==, 0);
      entry->mode = st.st_mode & 07777;
      entry->mtime_ns =
          (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec;
      if (S_ISDIR (st.st_mode))
        {
          entry->type = 'd';
          scan_tree (root, child_relative, out);
        }
      else if (S_ISLNK (st.st_mode))
        {
          entry->type = 'l';
          entry->target = g_file_read_link (child, NULL);
        }
      else if (S_ISREG (st.st_mode))
        {
          entry->type = 'f';
          entry->size = st.st_size;
          entry->sha256 = sha256_of_file (child);
          if (entry->sha256 == NULL)
            entry->sha256 = g_strdup (EMPTY_SHA256);
          entry->inode = st.st_nlink > 1 ? st.st_ino : 0;
        }
      else
        entry->type = '?';
      g_hash_table_insert (out, g_steal_pointer (&child_relative), entry);
    }
}

static GHashTable *
manifest_of (const char *root)
{
  GHashTable *manifest =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);

  scan_tree (root, "", manifest);
  return manifest;
}

/* Every regular file below @root -> its SHA-256 (keyed by the path below @root). */
static void
hash_files (const char *root, const char *relative, GHashTable *out)
{
  g_autofree char *path =
      relative[0] != '\0' ? g_build_filename (root, relative, NULL) : g_strdup (root);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child_relative =
          relative[0] != '\0' ? g_strconcat (relative, "/", name, NULL) : g_strdup (name);
      g_autofree char *child = g_build_filename (path, name, NULL);
      struct stat st;

      if (lstat (child, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        hash_files (root, child_relative, out);
      else if (S_ISREG (st.st_mode))
        {
          char *sha = sha256_of_file (child);

          if (sha == NULL)
            sha = g_strdup (EMPTY_SHA256);
          g_hash_table_insert (out, g_steal_pointer (&child_relative), sha);
        }
    }
}

static GHashTable *
hashes_of (const char *root)
{
  GHashTable *hashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  hash_files (root, "", hashes);
  return hashes;
}

static char *
list_one (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name = dir != NULL ? g_dir_read_name (dir) : NULL;

  g_assert_nonnull (name);
  return g_strdup (name);
}

/* The objects below @prefix (a folder of the vault), as vault paths. */
static GPtrArray *
vault_objects (const char *vault, const char *prefix)
{
  g_autofree char *root = g_build_filename (vault, prefix, NULL);
  g_autoptr (GHashTable) hashes = hashes_of (root);
  GPtrArray *objects = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, hashes);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (objects, g_strconcat (prefix, "/", (char *) key, NULL));
  return objects;
}

static gboolean
array_has_str (GPtrArray *array, const char *text)
{
  for (guint i = 0; i < array->len; i++)
    if (g_str_equal (g_ptr_array_index (array, i), text))
      return TRUE;
  return FALSE;
}

/* ---- Running the CLI with a deadline ------------------------------------ */

typedef struct
{
  gboolean done;
  char *out;
  char *err;
} Communication;

static void
communicated_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Communication *communication = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &communication->out,
                                        &communication->err, NULL);
  communication->done = TRUE;
}

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs coffer with @args; its exit status, or -1 when it did not return
 * within @seconds (it is killed) or died of a signal. */
static int
run_cli_within (
    const char *bus_address, const char *const *args, guint seconds, char **out, char **err)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) cli = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  Communication communication = { 0 };
  gboolean timed_out = FALSE;
  guint timeout_id;

  g_ptr_array_add (argv, (char *) g_getenv ("COFFER_CLI"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "C", TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  cli = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  g_subprocess_communicate_utf8_async (cli, NULL, NULL, communicated_cb, &communication);
  timeout_id = g_timeout_add_seconds (seconds, flag_cb, &timed_out);
  while (!communication.done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  else
    {
      g_subprocess_force_exit (cli);
      while (!communication.done)
        g_main_context_iteration (NULL, TRUE);
    }
  g_subprocess_wait (cli, NULL, NULL);

  *out = communication.out != NULL ? communication.out : g_strdup ("");
  *err = communication.err != NULL ? communication.err : g_strdup ("");
  if (timed_out || !g_subprocess_get_if_exited (cli))
    return -1;
  return g_subprocess_get_exit_status (cli);
}

/* @text on one line, for a report line. */
static char *
flat (const char *text)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text != NULL ? text : ""));
  g_auto (GStrv) lines = g_strsplit (stripped, "\n", -1);

  return g_strjoinv (" / ", lines);
}

/* ---- One case's run --------------------------------------------------------- */

typedef struct
{
  char *path;
  char *reason;
} Item;

static void
item_free (Item *item)
{
  g_free (item->path);
  g_free (item->reason);
  g_free (item);
}

typedef struct
{
  CofferTestAgent *agent;
  GString *problems; /* what went against the contract, a line each */
  gboolean hung;
  char *out;
  char *err;
  char *job_message; /* of the last job */
  char *last;        /* the last command, for messages */
  gboolean vanished; /* the agent exited by itself, cleanly: stopped by someone else */
  GPtrArray *items;  /* Item: the failed items of the check and the repair */
} Run;

static void G_GNUC_PRINTF (2, 3) problem (Run *run, const char *format, ...)
{
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  va_list ap;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  line = flat (text);
  g_string_append_printf (run->problems, "  - %s\n", line);
}

static guint
count_lines (const char *text)
{
  guint lines = 0;

  for (const char *at = strchr (text, '\n'); at != NULL; at = strchr (at + 1, '\n'))
    lines++;
  return lines;
}

static char *
first_line (const char *text)
{
  const char *end = strchr (text, '\n');

  return end != NULL ? g_strndup (text, end - text) : g_strdup (text);
}

static int
cli_args (Run *run, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autofree char *line = NULL;
  const char *arg;
  va_list ap;
  int status;

  va_start (ap, run);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  line = g_strjoinv (" ", (char **) args->pdata);
  g_free (run->last);
  run->last = g_strdup (line);

  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
  status = run_cli_within (coffer_test_bus_get_address (run->agent->bus),
                           (const char *const *) args->pdata, CLI_TIMEOUT, &run->out, &run->err);
  if (g_test_verbose ())
    g_printerr ("$ coffer %s -> %d\n%s%s", line, status, run->out, run->err);
  if (status < 0)
    {
      run->hung = TRUE;
      problem (run, "HANG: “coffer %s” did not return within %d s", line, CLI_TIMEOUT);
    }
  return status;
}

#define cli(run, ...) cli_args (run, __VA_ARGS__, NULL)

/* The job the last CLI call started, from its "… job N started." */
static guint64
started_job (Run *run)
{
  g_auto (GStrv) lines = g_strsplit (run->out, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 id = 0;

      if (sscanf (lines[i], "%*s job %" G_GUINT64_FORMAT " started.", &id) == 1)
        return id;
    }
  return 0;
}

/* Reads the job's record; adds its failed items to @items (when not NULL). */
static gboolean
read_job (Run *run, guint64 id, GPtrArray *items, guint *out_total)
{
  g_autofree char *id_text = g_strdup_printf ("%" G_GUINT64_FORMAT, id);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *job;
  JsonArray *failed;

  g_clear_pointer (&run->job_message, g_free);
  if (id == 0)
    return FALSE;
  if (cli (run, "job", "show", id_text, "--json") != 0 ||
      !json_parser_load_from_data (parser, run->out, -1, NULL))
    {
      problem (run, "“coffer job show %s --json” failed: %s", id_text, run->err);
      return FALSE;
    }
  job = json_node_get_object (json_parser_get_root (parser));
  run->job_message = g_strdup (json_object_get_string_member_with_default (job, "message", ""));
  failed = json_object_get_array_member (job, "failed-items");
  for (guint i = 0; failed != NULL && i < json_array_get_length (failed); i++)
    {
      JsonObject *object = json_array_get_object_element (failed, i);
      Item *item = g_new0 (Item, 1);

      item->path = g_strdup (json_object_get_string_member_with_default (object, "path", ""));
      item->reason = g_strdup (json_object_get_string_member_with_default (object, "reason", ""));
      if (items != NULL)
        g_ptr_array_add (items, item);
      else
        item_free (item);
    }
  if (out_total != NULL)
    *out_total = json_object_get_int_member_with_default (job, "failed-items-total", 0);
  return TRUE;
}

/* Whether @text mentions @path as a whole path (not the start of a longer one). */
static gboolean
mentions_path (const char *text, const char *path)
{
  gsize length = strlen (path);

  for (const char *at = strstr (text, path); at != NULL; at = strstr (at + 1, path))
    {
      char next = at[length];

      if (next == '\0' || next == ',' || next == ' ' || next == ';' || next == ')' ||
          next == '\n' || next == ':' ||
          (next == '.' && (at[length + 1] == '\0' || at[length + 1] == ' ')) ||
          g_str_has_prefix (at + length, "”") || g_str_has_prefix (at + length, "\""))
        return TRUE;
    }
  return FALSE;
}

/* Whether a failed item names the file @relative (below the source) as lost:
 * its path is the file or a folder above it, or its reason names the file. */
static gboolean
named_as_lost (GPtrArray *items, const char *relative)
{
  g_autofree char *absolute = source_path (relative);

  for (guint i = 0; i < items->len; i++)
    {
      Item *item = g_ptr_array_index (items, i);

      if (mentions_path (item->reason, absolute))
        return TRUE;
      if (item->path[0] == '/' &&
          (g_str_equal (item->path, absolute) ||
           (g_str_has_prefix (absolute, item->path) &&
            (absolute[strlen (item->path)] == '/' || g_str_equal (item->path, "/")))))
        return TRUE;
    }
  return FALSE;
}

static gboolean
items_mention (GPtrArray *items, const char *needle)
{
  for (guint i = 0; i < items->len; i++)
    {
      Item *item = g_ptr_array_index (items, i);

      if (strstr (item->path, needle) != NULL || strstr (item->reason, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  int *state = user_data;

  *state = g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL) ? 1 : 2;
}

/* Waits up to @seconds for @process to end; whether it did. */
static gboolean
wait_process (GSubprocess *process, guint seconds)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  gboolean timed_out = FALSE;
  int state = 0;
  guint timeout_id;

  g_subprocess_wait_async (process, cancellable, wait_cb, &state);
  timeout_id = g_timeout_add_seconds (seconds, flag_cb, &timed_out);
  while (state == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_cancellable_cancel (cancellable);
  while (state == 0)
    g_main_context_iteration (NULL, TRUE);
  return state == 1;
}

/* Stops the agent: SIGTERM, then SIGKILL if it has not gone within 20 s. */
static void
stop_agent (Run *run)
{
  GSubprocess *agent = run->agent->agent;

  if (agent != NULL)
    {
      if (g_subprocess_get_identifier (agent) == NULL)
        run->vanished =
            g_subprocess_get_if_exited (agent) && g_subprocess_get_exit_status (agent) == 0;
      if (g_subprocess_get_identifier (agent) == NULL)
        problem (run, "the agent had already exited (%s %d): something killed it, or it crashed",
                 g_subprocess_get_if_signaled (agent) ? "signal" : "status",
                 g_subprocess_get_if_signaled (agent) ? g_subprocess_get_term_sig (agent)
                                                      : g_subprocess_get_exit_status (agent));
      g_subprocess_send_signal (agent, SIGTERM);
      if (!wait_process (agent, 20))
        {
          problem (run, "HANG: the agent did not exit within 20 s of SIGTERM (killed)");
          g_subprocess_force_exit (agent);
          wait_process (agent, 20);
        }
      else if (!g_subprocess_get_if_exited (agent) || g_subprocess_get_exit_status (agent) != 0)
        problem (run, "the agent did not exit cleanly (%s %d)",
                 g_subprocess_get_if_exited (agent) ? "status" : "signal",
                 g_subprocess_get_if_exited (agent) ? g_subprocess_get_exit_status (agent)
                                                    : g_subprocess_get_term_sig (agent));
      g_clear_object (&run->agent->agent);
    }
  g_clear_pointer (&run->agent, coffer_test_agent_stop);
}

static void
run_free (Run *run)
{
  if (run->agent != NULL)
    stop_agent (run);
  g_string_free (run->problems, TRUE);
  g_free (run->out);
  g_free (run->err);
  g_free (run->job_message);
  g_free (run->last);
  g_ptr_array_unref (run->items);
}

/* ---- Building the fixture ------------------------------------------------- */

static GPtrArray *
list_points (Run *run)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GPtrArray *points = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *array;

  if (cli (run, "recover", "points", "--json") != 0 ||
      !json_parser_load_from_data (parser, run->out, -1, NULL))
    {
      problem (run, "“coffer recover points --json” failed: %s", run->err);
      g_ptr_array_unref (points);
      return NULL;
    }
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (points, json_object_ref (json_array_get_object_element (array, i)));
  return points;
}

static gboolean
point_from_list (Run *run, Point *point)
{
  g_autoptr (GPtrArray) points = list_points (run);
  JsonObject *newest = NULL;

  if (points == NULL)
    return FALSE;
  for (guint i = 0; i < points->len; i++)
    {
      JsonObject *object = g_ptr_array_index (points, i);

      if (newest == NULL ||
          json_object_get_int_member (object, "time") > json_object_get_int_member (newest, "time"))
        newest = object;
    }
  if (newest == NULL)
    return FALSE;
  point->id = g_strdup (json_object_get_string_member (newest, "id"));
  point->time = json_object_get_int_member (newest, "time");
  return TRUE;
}

static void
make_source (void)
{
  static const struct
  {
    const char *path;
    gsize size;
  } randoms[] = {
    { "photos/2025/img-01.jpg", 1536 * 1024 },
    { "photos/2025/img-02.jpg", 2200 * 1024 },
    { "photos/2025/img-03.jpg", 3100 * 1024 },
    { "photos/2025/img-04.jpg", 4400 * 1024 },
    { "photos/2025/img-05.jpg", 5500 * 1024 },
    { "photos/2025/img-06.jpg", 6300 * 1024 },
    { "photos/raw-a.cr2", 4900 * 1024 },
    { "photos/raw-b.cr2", 7700 * 1024 },
    { "docs/report.pdf", 1200 * 1024 },
    { "docs/letter.odt", 300 * 1024 },
    { "docs/budget.ods", 700 * 1024 },
    { "deep/a/b/c/leaf.bin", 600 * 1024 },
    { "deep/a/b/c/tiny", 1 },
    { "docs/todo-01", 10 },
    { "docs/todo-02", 200 },
    { "docs/todo-03", 1500 },
    { "docs/todo-04", 4096 },
    { "docs/todo-05", 9000 },
    { "docs/todo-06", 17000 },
    { "docs/todo-07", 30000 },
    { "docs/todo-08", 255 * 1024 },
    { "code/lib/blob.bin", 257 * 1024 },
  };
  const char *folders[] = { "photos/2025", "docs", "code/lib", "deep/a/b/c", "empty-folder" };
  g_autofree char *notes = source_path ("docs/notes.txt");
  g_autofree char *hardlink = source_path ("docs/notes-link.txt");
  g_autofree char *symlink_path = source_path ("photos/latest");
  g_autofree char *empty = source_path ("docs/empty.txt");
  g_autofree char *script = source_path ("code/run.sh");
  g_autofree char *secret = source_path ("secret.key");

  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *folder = source_path (folders[i]);
      g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
    }
  for (guint i = 0; i < G_N_ELEMENTS (randoms); i++)
    {
      g_autofree char *path = source_path (randoms[i].path);
      write_random (path, randoms[i].size, 1000 + i);
    }
  {
    g_autofree char *main_c = source_path ("code/main.c");
    g_autofree char *util_c = source_path ("code/lib/util.c");
    g_autofree char *util_h = source_path ("code/lib/util.h");
    g_autofree char *makefile = source_path ("code/Makefile");

    write_text (main_c, 600, "int main (void) { return 0; }");
    write_text (util_c, 150, "static int util (int x) { return x + 1; }");
    write_text (util_h, 20, "int util (int x);");
    write_text (makefile, 5, "all: main");
  }
  write_text (notes, 80, "a note to keep");
  g_assert_cmpint (link (notes, hardlink), ==, 0);
  g_assert_cmpint (symlink ("2025/img-06.jpg", symlink_path), ==, 0);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  write_text (script, 3, "echo run");
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  write_random (secret, 64, 7);
  g_assert_cmpint (g_chmod (secret, 0600), ==, 0);
}

/* What changes between the two backups: a changed text (through its
 * hardlink too), a few changed bytes in a big file, a new big file, a
 * removed file, a changed mode. code/lib, deep/ and empty-folder do not
 * change: the newest point shares their trees with the older one. */
static void
change_source (void)
{
  g_autofree char *notes = source_path ("docs/notes.txt");
  g_autofree char *photo = source_path ("photos/2025/img-03.jpg");
  g_autofree char *added = source_path ("photos/2025/img-07.jpg");
  g_autofree char *removed = source_path ("docs/todo-05");
  g_autofree char *script = source_path ("code/run.sh");
  g_autofree char *main_c = source_path ("code/main.c");
  FILE *file;

  file = fopen (notes, "a");
  g_assert_nonnull (file);
  fputs ("and one more line\n", file);
  fclose (file);
  file = fopen (photo, "r+");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, 1500 * 1024, SEEK_SET), ==, 0);
  for (int i = 0; i < 4096; i++)
    fputc (i * 7, file);
  fclose (file);
  write_random (added, 3500 * 1024, 77);
  g_assert_cmpint (g_unlink (removed), ==, 0);
  g_assert_cmpint (g_chmod (script, 0700), ==, 0);
  write_text (main_c, 640, "int main (void) { return 1; }");
}

/* Reads every pack's header and every tree, and works out which blobs each
 * entry of each point needs. */
static void
read_vault (GPtrArray *first_packs)
{
  g_autofree char *key_path = g_build_filename (fx.vault, fx.key, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) wrapped = NULL;
  g_autoptr (CofferMasterKeys) keys = NULL;
  g_autoptr (GHashTable) trees =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  g_autoptr (GHashTable) children = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *data_prefix = g_strconcat (fx.machine, "/data", NULL);
  g_autoptr (GPtrArray) objects = vault_objects (fx.vault, data_prefix);
  g_autoptr (GPtrArray) roots = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) components = NULL;
  GHashTableIter iter;
  gpointer key, value;

  {
    gchar *contents;
    gsize length;

    g_assert_true (g_file_get_contents (key_path, &contents, &length, NULL));
    wrapped = g_bytes_new_take (contents, length);
  }
  keys = coffer_master_keys_unwrap (wrapped, PASSPHRASE, &error);
  g_assert_no_error (error);

  fx.packs = g_ptr_array_new ();
  fx.blob_packs =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < objects->len; i++)
    {
      const char *object = g_ptr_array_index (objects, i);
      g_autofree char *path = g_build_filename (fx.vault, object, NULL);
      g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, &error);
      g_autoptr (GBytes) bytes = NULL;
      const guint8 *data;
      Pack *pack = g_new0 (Pack, 1);

      g_assert_no_error (error);
      bytes = g_mapped_file_get_bytes (mapped);
      data = g_bytes_get_data (bytes, NULL);
      pack->object = g_strdup (object);
      pack->name = g_path_get_basename (object);
      pack->size = g_bytes_get_size (bytes);
      pack->second = !array_has_str (first_packs, object);
      pack->entries = coffer_pack_read_header (keys, pack->name, bytes, pack->size, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (pack->entries->len, >, 0);
      pack->type = g_array_index (pack->entries, CofferPackEntry, 0).type;
      g_ptr_array_add (fx.packs, pack);

      for (guint e = 0; e < pack->entries->len; e++)
        {
          const CofferPackEntry *entry = &g_array_index (pack->entries, CofferPackEntry, e);
          char *hex = coffer_blob_id_to_hex (entry->id);
          GPtrArray *holders = g_hash_table_lookup (fx.blob_packs, hex);

          if (holders == NULL)
            {
              holders = g_ptr_array_new ();
              g_hash_table_insert (fx.blob_packs, g_strdup (hex), holders);
            }
          g_ptr_array_add (holders, pack);

          if (pack->type == COFFER_BLOB_TREE)
            {
              g_autoptr (GBytes) plain =
                  coffer_blob_open (keys, entry->id, COFFER_BLOB_TREE, data + entry->offset,
                                    entry->length, entry->raw_length, &error);
              GPtrArray *nodes;

              g_assert_no_error (error);
              nodes = coffer_tree_parse (plain, &error);
              g_assert_no_error (error);
              for (guint n = 0; n < nodes->len; n++)
                {
                  CofferNode *node = g_ptr_array_index (nodes, n);
                  if (node->type == COFFER_NODE_DIR && node->has_subtree)
                    g_hash_table_add (children, coffer_blob_id_to_hex (node->subtree));
                }
              g_hash_table_insert (trees, g_strdup (hex), nodes);
            }
          g_free (hex);
        }
    }

  /* The roots: the trees no tree names. */
  g_hash_table_iter_init (&iter, trees);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (children, key))
      g_ptr_array_add (roots, g_strdup (key));
  g_assert_cmpuint (roots->len, ==, 2);
  g_hash_table_remove_all (children);

  components = g_strsplit (fx.source + 1, "/", -1);
  for (guint r = 0; r < roots->len; r++)
    {
      const char *root = g_ptr_array_index (roots, r);
      g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GHashTable) needs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify) g_ptr_array_unref);
      g_autoptr (GHashTable) groups = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                             (GDestroyNotify) g_ptr_array_unref);
      g_autoptr (GPtrArray) pending = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) pending_chain = g_ptr_array_new ();
      const char *tree = root;
      int which = -1;

      /* Down to the source folder. */
      for (guint c = 0; components[c] != NULL; c++)
        {
          GPtrArray *nodes = g_hash_table_lookup (trees, tree);
          const char *next = NULL;

          g_assert_nonnull (nodes);
          g_ptr_array_add (chain, g_strdup (tree));
          for (guint n = 0; n < nodes->len; n++)
            {
              CofferNode *node = g_ptr_array_index (nodes, n);
              if (g_str_equal (node->name, components[c]) && node->has_subtree)
                {
                  char *hex = coffer_blob_id_to_hex (node->subtree);
                  g_hash_table_add (children, hex); /* keeps it */
                  next = hex;
                }
            }
          g_assert_nonnull (next);
          tree = next;
        }

      /* Everything below it: a folder's trees, then each entry. */
      g_ptr_array_add (pending, g_strdup (""));
      g_ptr_array_add (pending_chain, g_ptr_array_ref (chain));
      g_ptr_array_add (pending, g_strdup (tree));
      while (pending->len > 0)
        {
          g_autofree char *folder_tree = g_ptr_array_steal_index (pending, pending->len - 1);
          g_autofree char *folder = g_ptr_array_steal_index (pending, pending->len - 1);
          g_autoptr (GPtrArray) above =
              g_ptr_array_steal_index (pending_chain, pending_chain->len - 1);
          g_autoptr (GPtrArray) here = g_ptr_array_new_with_free_func (g_free);
          GPtrArray *nodes = g_hash_table_lookup (trees, folder_tree);

          g_assert_nonnull (nodes);
          for (guint i = 0; i < above->len; i++)
            g_ptr_array_add (here, g_strdup (g_ptr_array_index (above, i)));
          g_ptr_array_add (here, g_strdup (folder_tree));
          for (guint n = 0; n < nodes->len; n++)
            {
              CofferNode *node = g_ptr_array_index (nodes, n);
              g_autofree char *relative = folder[0] != '\0'
                                              ? g_strconcat (folder, "/", node->name, NULL)
                                              : g_strdup (node->name);
              GPtrArray *need = g_ptr_array_new_with_free_func (g_free);

              for (guint i = 0; i < here->len; i++)
                g_ptr_array_add (need, g_strdup (g_ptr_array_index (here, i)));
              for (guint c = 0; node->chunks != NULL && c < node->chunks->len; c++)
                g_ptr_array_add (need, coffer_blob_id_to_hex (&g_array_index (
                                           node->chunks, guint8, c * COFFER_BLOB_ID_SIZE)));
              if (node->hardlink_group != 0)
                {
                  GPtrArray *members = g_hash_table_lookup (groups, &node->hardlink_group);

                  if (members == NULL)
                    {
                      members = g_ptr_array_new_with_free_func (g_free);
                      g_hash_table_insert (groups, g_memdup2 (&node->hardlink_group, 8), members);
                    }
                  g_ptr_array_add (members, g_strdup (relative));
                }
              if (node->type == COFFER_NODE_DIR && node->has_subtree)
                {
                  g_ptr_array_add (pending, g_strdup (relative));
                  g_ptr_array_add (pending_chain, g_ptr_array_ref (here));
                  g_ptr_array_add (pending, coffer_blob_id_to_hex (node->subtree));
                }
              g_hash_table_insert (needs, g_steal_pointer (&relative), need);
            }
        }

      /* A hardlink's content may be stored with one of its names only. */
      g_hash_table_iter_init (&iter, groups);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          GPtrArray *members = value;
          g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func (g_free);

          for (guint m = 0; m < members->len; m++)
            {
              GPtrArray *need = g_hash_table_lookup (needs, g_ptr_array_index (members, m));
              for (guint i = 0; i < need->len; i++)
                if (!array_has_str (all, g_ptr_array_index (need, i)))
                  g_ptr_array_add (all, g_strdup (g_ptr_array_index (need, i)));
            }
          for (guint m = 0; m < members->len; m++)
            {
              GPtrArray *need = g_hash_table_lookup (needs, g_ptr_array_index (members, m));
              for (guint i = 0; i < all->len; i++)
                if (!array_has_str (need, g_ptr_array_index (all, i)))
                  g_ptr_array_add (need, g_strdup (g_ptr_array_index (all, i)));
            }
        }

      /* Which backup it is: the one whose source had exactly these entries. */
      for (int b = 0; b < 2; b++)
        {
          gboolean same = g_hash_table_size (needs) == g_hash_table_size (fx.manifest[b]);

          g_hash_table_iter_init (&iter, fx.manifest[b]);
          while (same && g_hash_table_iter_next (&iter, &key, NULL))
            same = g_hash_table_contains (needs, key);
          if (same)
            which = b;
        }
      g_assert_cmpint (which, >=, 0);
      fx.point[which].root = g_strdup (root);
      fx.point[which].needs = g_steal_pointer (&needs);
    }
}

static Pack *
pick_pack (guint8 type, gboolean second, Pack * not )
{
  Pack *best = NULL;
  guint best_users = 0;

  for (guint i = 0; i < fx.packs->len; i++)
    {
      Pack *pack = g_ptr_array_index (fx.packs, i);
      guint users = 0;
      GHashTableIter iter;
      gpointer value;

      if (pack->type != type || pack->second != second || pack == not )
        continue;
      /* The pack the newest point needs most. */
      g_hash_table_iter_init (&iter, fx.point[1].needs);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          GPtrArray *need = value;
          gboolean uses = FALSE;

          for (guint n = 0; n < need->len && !uses; n++)
            {
              GPtrArray *holders = g_hash_table_lookup (fx.blob_packs, g_ptr_array_index (need, n));
              uses = holders != NULL && g_ptr_array_find (holders, pack, NULL);
            }
          users += uses;
        }
      if (best == NULL || users > best_users || (users == best_users && pack->size > best->size))
        {
          best = pack;
          best_users = users;
        }
    }
  g_assert_nonnull (best);
  return best;
}

static char *
biggest (const char *vault, GPtrArray *objects)
{
  const char *best = NULL;
  goffset best_size = -1;

  for (guint i = 0; i < objects->len; i++)
    {
      const char *object = g_ptr_array_index (objects, i);
      g_autofree char *path = g_build_filename (vault, object, NULL);
      GStatBuf st;

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      if (st.st_size > best_size)
        {
          best = object;
          best_size = st.st_size;
        }
    }
  g_assert_nonnull (best);
  return g_strdup (best);
}

/* Makes the source, registers and takes the two backups; FALSE (with
 * @problems said) when a step failed: an agent stopped from outside the
 * test (SIGTERM) makes the caller try once more. */
static gboolean
make_backups (GPtrArray **out_first_packs, GPtrArray **out_first_index, GString **problems)
{
  g_autofree char *passphrase = NULL;
  g_autofree char *machines = NULL;
  g_autofree char *machine_id = NULL;
  g_autofree char *data_prefix = NULL;
  g_autofree char *index_prefix = NULL;
  g_autofree char *state = g_build_filename (g_get_user_state_dir (), "coffer", NULL);
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);
  Run run = { 0 };
  gboolean done = FALSE;

  remove_tree (fx.work);
  remove_tree (state);
  remove_tree (cache);
  for (int b = 0; b < 2; b++)
    {
      g_clear_pointer (&fx.manifest[b], g_hash_table_unref);
      g_clear_pointer (&fx.point[b].id, g_free);
    }
  g_clear_pointer (&fx.machine, g_free);
  passphrase = g_build_filename (fx.work, "passphrase.txt", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx.source, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (fx.pristine, 0700), ==, 0);
  g_assert_true (g_file_set_contents_full (passphrase, PASSPHRASE "\n", -1,
                                           G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  make_source ();

  run.problems = g_string_new (NULL);
  run.items = g_ptr_array_new ();
  run.agent = coffer_test_agent_start (g_get_user_state_dir ());
  if (cli (&run, "register", "--create-local-vault", fx.vault, "--passphrase-file", passphrase) !=
          0 ||
      cli (&run, "policy", "set", "--add", fx.source) != 0 || cli (&run, "backup", "--wait") != 0)
    goto out;
  fx.manifest[0] = manifest_of (fx.source);
  if (!point_from_list (&run, &fx.point[0]))
    goto out;

  machines = g_build_filename (fx.vault, "machines", NULL);
  machine_id = list_one (machines);
  fx.machine = g_strconcat ("machines/", machine_id, NULL);
  data_prefix = g_strconcat (fx.machine, "/data", NULL);
  index_prefix = g_strconcat (fx.machine, "/index", NULL);
  *out_first_packs = vault_objects (fx.vault, data_prefix);
  *out_first_index = vault_objects (fx.vault, index_prefix);

  /* A point's time is in seconds: the second must be later. */
  g_usleep (1100 * G_TIME_SPAN_MILLISECOND);
  change_source ();
  if (cli (&run, "backup", "--wait") != 0)
    goto out;
  fx.manifest[1] = manifest_of (fx.source);
  if (!point_from_list (&run, &fx.point[1]))
    goto out;
  g_assert_cmpstr (fx.point[0].id, !=, fx.point[1].id);
  g_assert_cmpint (fx.point[1].time, >, fx.point[0].time);
  done = cli (&run, "check", "--read-data", "--wait") == 0;

out:
  if (!done)
    problem (&run, "“coffer %s” failed: %s %s", run.last, run.out, run.err);
  stop_agent (&run);
  done = done && run.problems->len == 0;
  if (!done)
    {
      g_clear_pointer (out_first_packs, g_ptr_array_unref);
      g_clear_pointer (out_first_index, g_ptr_array_unref);
    }
  *problems = run.problems;
  run.problems = g_string_new (NULL);
  run_free (&run);
  return done;
}

static void
build_fixture (void)
{
  g_autofree char *keys_dir = NULL;
  g_autofree char *index_prefix = NULL;
  g_autofree char *state = g_build_filename (g_get_user_state_dir (), "coffer", NULL);
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);
  g_autofree char *pristine_vault = NULL;
  g_autofree char *pristine_state = NULL;
  g_autofree char *pristine_cache = NULL;
  g_autoptr (GPtrArray) first_packs = NULL;
  g_autoptr (GPtrArray) first_index = NULL;
  g_autoptr (GPtrArray) all_index = NULL;
  g_autoptr (GPtrArray) new_index = g_ptr_array_new_with_free_func (g_free);
  gint64 started = g_get_monotonic_time ();

  fx.work = g_build_filename (g_getenv ("G_TEST_TMPDIR") != NULL ? g_getenv ("G_TEST_TMPDIR")
                                                                 : g_get_tmp_dir (),
                              "coffer-damage-fixture", NULL);
  fx.source = g_build_filename (fx.work, "source", NULL);
  fx.vault = g_build_filename (fx.work, "vault", NULL);
  fx.pristine = g_build_filename (fx.work, "pristine", NULL);
  for (int attempt = 1;; attempt++)
    {
      GString *problems = NULL;
      gboolean done = make_backups (&first_packs, &first_index, &problems);

      if (!done && attempt == 3)
        g_error ("The fixture could not be built, three times over:\n%s", problems->str);
      if (!done)
        g_test_message ("Building the fixture failed, trying again:\n%s", problems->str);
      g_string_free (problems, TRUE);
      if (done)
        break;
    }
  index_prefix = g_strconcat (fx.machine, "/index", NULL);

  keys_dir = g_build_filename (fx.vault, fx.machine, "keys", NULL);
  {
    g_autofree char *key_id = list_one (keys_dir);
    fx.key = g_strconcat (fx.machine, "/keys/", key_id, NULL);
  }
  all_index = vault_objects (fx.vault, index_prefix);
  for (guint i = 0; i < all_index->len; i++)
    if (!array_has_str (first_index, g_ptr_array_index (all_index, i)))
      g_ptr_array_add (new_index, g_strdup (g_ptr_array_index (all_index, i)));
  g_assert_cmpuint (first_index->len, >=, 1);
  g_assert_cmpuint (new_index->len, >=, 1);
  fx.index_old = biggest (fx.vault, first_index);
  fx.index_new = biggest (fx.vault, new_index);

  read_vault (first_packs);
  fx.data_pack = pick_pack (COFFER_BLOB_DATA, FALSE, NULL);
  fx.data_pack_other = pick_pack (COFFER_BLOB_DATA, FALSE, fx.data_pack);
  fx.data_pack_new = pick_pack (COFFER_BLOB_DATA, TRUE, NULL);
  fx.tree_pack = pick_pack (COFFER_BLOB_TREE, TRUE, NULL);
  fx.tree_pack_old = pick_pack (COFFER_BLOB_TREE, FALSE, NULL);
  {
    guint data = 0, tree = 0;

    for (guint i = 0; i < fx.packs->len; i++)
      {
        Pack *pack = g_ptr_array_index (fx.packs, i);
        if (pack->type == COFFER_BLOB_DATA)
          data++;
        else
          tree++;
      }
    g_assert_cmpuint (data, >=, 3);
    g_assert_cmpuint (tree, >=, 2);
    g_test_message ("fixture: %u files and folders, %u data packs, %u tree packs, %u index "
                    "files, 2 points (%.12s, %.12s), built in %.1f s",
                    g_hash_table_size (fx.manifest[1]), data, tree, all_index->len, fx.point[0].id,
                    fx.point[1].id, (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
  }

  fx.pristine_sha = hashes_of (fx.vault);
  pristine_vault = g_build_filename (fx.pristine, "vault", NULL);
  pristine_state = g_build_filename (fx.pristine, "state", NULL);
  pristine_cache = g_build_filename (fx.pristine, "cache", NULL);
  copy_tree (fx.vault, pristine_vault);
  copy_tree (state, pristine_state);
  if (g_file_test (cache, G_FILE_TEST_IS_DIR))
    copy_tree (cache, pristine_cache);
  fx.built = TRUE;
}

static void
restore_pristine (void)
{
  g_autofree char *state = g_build_filename (g_get_user_state_dir (), "coffer", NULL);
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "coffer", NULL);
  g_autofree char *pristine_vault = g_build_filename (fx.pristine, "vault", NULL);
  g_autofree char *pristine_state = g_build_filename (fx.pristine, "state", NULL);
  g_autofree char *pristine_cache = g_build_filename (fx.pristine, "cache", NULL);

  remove_tree (fx.vault);
  remove_tree (state);
  remove_tree (cache);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_state_dir (), 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_cache_dir (), 0700), ==, 0);
  copy_tree (pristine_vault, fx.vault);
  copy_tree (pristine_state, state);
  if (g_file_test (pristine_cache, G_FILE_TEST_IS_DIR))
    copy_tree (pristine_cache, cache);
}

/* ---- Tampering ------------------------------------------------------------- */

/* What a tampering destroyed, in the terms of the oracle. */
typedef struct
{
  GPtrArray *dead_packs; /* Pack: wholly lost */
  Pack *flipped_pack;    /* a pack with one byte flipped in a blob */
  char *flipped_blob;    /* that blob, hex */
  int dead_point;        /* 0 or 1: the point whose object was damaged; -1 */
  char *object;          /* the tampered object's path in the vault */
  char *needle;          /* how a report names it */
  char *tampered_sha;    /* its bytes after tampering (NULL: no bytes) */
  char *description;
} Damage;

static void
damage_clear (Damage *damage)
{
  g_clear_pointer (&damage->dead_packs, g_ptr_array_unref);
  g_free (damage->flipped_blob);
  g_free (damage->object);
  g_free (damage->needle);
  g_free (damage->tampered_sha);
  g_free (damage->description);
}

static char *
target_object (ObjectKind kind)
{
  switch (kind)
    {
      case OBJ_DATA_PACK:
        return g_strdup (fx.data_pack->object);
      case OBJ_DATA_PACK_NEW:
        return g_strdup (fx.data_pack_new->object);
      case OBJ_TREE_PACK:
        return g_strdup (fx.tree_pack->object);
      case OBJ_TREE_PACK_OLD:
        return g_strdup (fx.tree_pack_old->object);
      case OBJ_INDEX:
        return g_strdup (fx.index_old);
      case OBJ_POINT_NEWEST:
        return g_strconcat (fx.machine, "/snapshots/", fx.point[1].id, NULL);
      case OBJ_POINT_OLDER:
        return g_strconcat (fx.machine, "/snapshots/", fx.point[0].id, NULL);
      case OBJ_KEY:
        return g_strdup (fx.key);
      case OBJ_CONFIG:
        return g_strconcat (fx.machine, "/config", NULL);
      case OBJ_MACHINE_JSON:
        return g_strconcat (fx.machine, "/machine.json", NULL);
      case OBJ_VAULT_JSON:
        return g_strdup ("vault.json");
      case OBJ_CREDENTIALS:
        return g_strdup ("credentials/current");
      default:
        g_assert_not_reached ();
    }
}

static char *
swap_partner (ObjectKind kind)
{
  switch (kind)
    {
      case OBJ_DATA_PACK:
        return g_strdup (fx.data_pack_other->object);
      case OBJ_DATA_PACK_NEW:
        return g_strdup (fx.data_pack->object);
      case OBJ_TREE_PACK:
        return g_strdup (fx.tree_pack_old->object);
      case OBJ_TREE_PACK_OLD:
        return g_strdup (fx.tree_pack->object);
      case OBJ_INDEX:
        return g_strdup (fx.index_new);
      case OBJ_POINT_NEWEST:
        return g_strconcat (fx.machine, "/snapshots/", fx.point[0].id, NULL);
      case OBJ_POINT_OLDER:
        return g_strconcat (fx.machine, "/snapshots/", fx.point[1].id, NULL);
      default:
        g_assert_not_reached ();
    }
}

static Pack *
pack_of_kind (ObjectKind kind)
{
  switch (kind)
    {
      case OBJ_DATA_PACK:
        return fx.data_pack;
      case OBJ_DATA_PACK_NEW:
        return fx.data_pack_new;
      case OBJ_TREE_PACK:
        return fx.tree_pack;
      case OBJ_TREE_PACK_OLD:
        return fx.tree_pack_old;
      default:
        return NULL;
    }
}

static char *
needle_of (const char *object)
{
  g_autofree char *base = g_path_get_basename (object);

  if (g_str_equal (object, "credentials/current"))
    return g_strdup ("credentials");
  /* A content name is named by its first 12 digits (as `coffer recover points` shows it). */
  if (strlen (base) >= 32 && strspn (base, "0123456789abcdef") == strlen (base))
    return g_strndup (base, 12);
  return g_steal_pointer (&base);
}

static void
tamper (const DamageCase *kase, Damage *damage)
{
  g_autofree char *path = NULL;
  g_autofree char *folder = NULL;
  Pack *pack = pack_of_kind (kase->object);
  g_autoptr (GError) error = NULL;

  damage->dead_point = -1;
  damage->dead_packs = g_ptr_array_new ();
  damage->object = target_object (kase->object);
  path = g_build_filename (fx.vault, damage->object, NULL);
  folder = g_path_get_dirname (path);

  switch (kase->tamper)
    {
      case TAMPER_FLIP:
        {
          gchar *contents;
          gsize length;

          g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
          g_assert_cmpuint (length, >, 0);
          contents[length / 2] ^= 0xff;
          g_assert_true (g_file_set_contents_full (path, contents, length, G_FILE_SET_CONTENTS_NONE,
                                                   0600, NULL));
          damage->description = g_strdup_printf ("byte %zu of %zu flipped", length / 2, length);
          if (pack != NULL)
            {
              for (guint e = 0; e < pack->entries->len; e++)
                {
                  const CofferPackEntry *entry = &g_array_index (pack->entries, CofferPackEntry, e);
                  if (entry->offset <= length / 2 && length / 2 < entry->offset + entry->length)
                    damage->flipped_blob = coffer_blob_id_to_hex (entry->id);
                }
              if (damage->flipped_blob != NULL)
                damage->flipped_pack = pack;
              else
                g_ptr_array_add (damage->dead_packs, pack); /* its header */
            }
          g_free (contents);
          break;
        }
      case TAMPER_TRUNCATE:
        {
          GStatBuf st;

          g_assert_cmpint (g_stat (path, &st), ==, 0);
          g_assert_cmpint (truncate (path, st.st_size / 2), ==, 0);
          damage->description =
              g_strdup_printf ("truncated to %lld of %lld bytes", (long long) st.st_size / 2,
                               (long long) st.st_size);
          break;
        }
      case TAMPER_EMPTY:
        g_assert_cmpint (truncate (path, 0), ==, 0);
        damage->description = g_strdup ("emptied");
        break;
      case TAMPER_DELETE:
        g_assert_cmpint (g_unlink (path), ==, 0);
        damage->description = g_strdup ("deleted");
        break;
      case TAMPER_SWAP:
        {
          g_autofree char *partner = swap_partner (kase->object);
          g_autofree char *partner_path = g_build_filename (fx.vault, partner, NULL);
          gchar *contents;
          gsize length;

          g_assert_true (g_file_get_contents (partner_path, &contents, &length, NULL));
          g_assert_true (g_file_set_contents_full (path, contents, length, G_FILE_SET_CONTENTS_NONE,
                                                   0600, NULL));
          g_free (contents);
          damage->description = g_strdup_printf ("replaced by the bytes of %s", partner);
          break;
        }
      case TAMPER_FOREIGN:
        {
          g_autofree char *name = NULL;
          g_autofree char *foreign = NULL;
          g_autofree char *dir = NULL;
          g_autofree char *object = NULL;
          gsize size = g_test_rand_int_range (200, 64 * 1024);
          g_autofree guint8 *bytes = g_malloc (size);

          if (kase->object == OBJ_KEY)
            name = random_hex (32);
          else
            name = random_hex (64);
          if (pack != NULL)
            {
              /* data/XX/NAME, XX its first two digits */
              g_autofree char *data = g_build_filename (fx.vault, fx.machine, "data", NULL);
              g_autofree char *xx = g_strndup (name, 2);

              dir = g_build_filename (data, xx, NULL);
              object = g_strconcat (fx.machine, "/data/", xx, "/", name, NULL);
            }
          else
            {
              g_autofree char *parent = g_path_get_dirname (damage->object);

              dir = g_strdup (folder);
              object = g_strconcat (parent, "/", name, NULL);
            }
          g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
          for (gsize i = 0; i < size; i++)
            bytes[i] = g_test_rand_int ();
          foreign = g_build_filename (dir, name, NULL);
          g_assert_true (g_file_set_contents_full (foreign, (const char *) bytes, size,
                                                   G_FILE_SET_CONTENTS_NONE, 0600, NULL));
          g_free (damage->object);
          damage->object = g_steal_pointer (&object);
          g_free (path);
          path = g_steal_pointer (&foreign);
          damage->description =
              g_strdup_printf ("a foreign object of %zu random bytes added", size);
          break;
        }
      case TAMPER_FIFO:
        g_assert_cmpint (g_unlink (path), ==, 0);
        g_assert_cmpint (mkfifo (path, 0600), ==, 0);
        damage->description = g_strdup ("replaced by a fifo");
        break;
    }

  if (kase->tamper != TAMPER_DELETE && kase->tamper != TAMPER_FIFO)
    damage->tampered_sha = sha256_of_file (path);
  if (damage->tampered_sha == NULL && kase->tamper != TAMPER_DELETE && kase->tamper != TAMPER_FIFO)
    damage->tampered_sha = g_strdup (EMPTY_SHA256);
  damage->needle = needle_of (damage->object);

  /* What is lost with it. */
  if (kase->tamper != TAMPER_FOREIGN && kase->tamper != TAMPER_FLIP && pack != NULL)
    g_ptr_array_add (damage->dead_packs, pack);
  if (kase->tamper != TAMPER_FOREIGN && kase->object == OBJ_POINT_NEWEST)
    damage->dead_point = 1;
  if (kase->tamper != TAMPER_FOREIGN && kase->object == OBJ_POINT_OLDER)
    damage->dead_point = 0;
}

/* Whether blob @hex is lost: every pack holding it is. @at_most: count the
 * whole flipped pack as lost, not just the blob the flip hit. */
static gboolean
blob_lost (const Damage *damage, const char *hex, gboolean at_most)
{
  GPtrArray *holders = g_hash_table_lookup (fx.blob_packs, hex);

  if (holders == NULL)
    return TRUE;
  for (guint i = 0; i < holders->len; i++)
    {
      Pack *pack = g_ptr_array_index (holders, i);

      if (g_ptr_array_find (damage->dead_packs, pack, NULL))
        continue;
      if (pack == damage->flipped_pack && (at_most || g_str_equal (hex, damage->flipped_blob)))
        continue;
      return FALSE;
    }
  return TRUE;
}

static gboolean
entry_lost (const Damage *damage, int point, const char *relative, gboolean at_most)
{
  GPtrArray *need = g_hash_table_lookup (fx.point[point].needs, relative);

  for (guint i = 0; need != NULL && i < need->len; i++)
    if (blob_lost (damage, g_ptr_array_index (need, i), at_most))
      return TRUE;
  return FALSE;
}

/* 2: the point surely survives, 1: it may, 0: it is lost. */
static int
point_survives (const Damage *damage, int point)
{
  if (damage->dead_point == point || blob_lost (damage, fx.point[point].root, FALSE))
    return 0;
  return blob_lost (damage, fx.point[point].root, TRUE) ? 1 : 2;
}

/* ---- Checking what came back --------------------------------------------- */

typedef struct
{
  guint expected;  /* files and symlinks of the point */
  guint recovered; /* came back identical */
  guint lost;      /* did not come back */
  guint may_lose;  /* the oracle's most */
  guint must_lose; /* the oracle's least */
  gboolean full;   /* every file whose data survives came back, identical */
} Recovered;

static void
compare_recovery (Run *run, const Damage *damage, int point, const char *out, Recovered *result)
{
  g_autofree char *root = g_build_filename (out, fx.source, NULL);
  g_autoptr (GHashTable) got = manifest_of (root);
  g_autoptr (GHashTable) inode_map =
      g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  GHashTable *expected = fx.manifest[point];
  GHashTableIter iter;
  gpointer key, value;
  guint problems_before = run->problems->len;

  memset (result, 0, sizeof *result);
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *relative = key;
      Entry *want = value;
      Entry *have = g_hash_table_lookup (got, relative);
      gboolean may = entry_lost (damage, point, relative, TRUE);
      gboolean must = entry_lost (damage, point, relative, FALSE);

      if (want->type != 'd')
        {
          result->expected++;
          result->may_lose += may;
          result->must_lose += must;
        }
      if (have == NULL)
        {
          if (want->type != 'd')
            result->lost++;
          if (!may)
            problem (run, "%s (%c) did not come back, though its data is intact", relative,
                     want->type);
          else if (want->type != 'd' && !named_as_lost (run->items, relative))
            problem (run, "%s was lost but neither the check nor the repair named it", relative);
          continue;
        }
      if (have->type != want->type)
        {
          problem (run, "%s came back as a '%c', not a '%c'", relative, have->type, want->type);
          continue;
        }
      if (want->type == 'f')
        {
          if (g_strcmp0 (have->sha256, want->sha256) != 0 || have->size != want->size)
            problem (run,
                     "%s came back with other content (%" G_GUINT64_FORMAT
                     " bytes, not %" G_GUINT64_FORMAT ")%s",
                     relative, have->size, want->size, must ? " although its data is lost" : "");
          else if (have->mode != want->mode)
            problem (run, "%s came back with mode %04o, not %04o", relative, have->mode,
                     want->mode);
          else if (have->mtime_ns != want->mtime_ns)
            problem (run, "%s came back with mtime %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT,
                     relative, have->mtime_ns, want->mtime_ns);
          else
            result->recovered++;
          if (want->inode != 0)
            {
              guint64 *mapped = g_hash_table_lookup (inode_map, &want->inode);

              if (mapped == NULL)
                g_hash_table_insert (inode_map, g_memdup2 (&want->inode, 8),
                                     g_memdup2 (&have->inode, 8));
              else if (*mapped != have->inode || have->inode == 0)
                problem (run, "%s came back, but not as a hardlink of its other names", relative);
            }
        }
      else if (want->type == 'l')
        {
          if (g_strcmp0 (have->target, want->target) != 0)
            problem (run, "symlink %s came back pointing to %s, not %s", relative, have->target,
                     want->target);
          else
            result->recovered++;
        }
      else if (want->type == 'd' && have->mode != want->mode)
        problem (run, "folder %s came back with mode %04o, not %04o", relative, have->mode,
                 want->mode);
    }
  g_hash_table_iter_init (&iter, got);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (expected, key))
      problem (run, "%s came back but was not in the point", (char *) key);
  result->full = run->problems->len == problems_before;
}

/* Everything the pristine vault held is still there, at its place or under
 * damaged/, but the tampered object: repair never deletes. */
static void
check_nothing_deleted (Run *run, const Damage *damage, GHashTable *now, GHashTable *damaged)
{
  GHashTableIter iter;
  gpointer key, value;
  g_autoptr (GHashTable) moved = g_hash_table_new (g_str_hash, g_str_equal);
  guint missing = 0;

  g_hash_table_iter_init (&iter, damaged);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_hash_table_add (moved, value);
  g_hash_table_iter_init (&iter, fx.pristine_sha);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *object = key;

      if (g_str_equal (object, damage->object) || g_str_has_prefix (object, "tmp/"))
        continue;
      if (g_strcmp0 (g_hash_table_lookup (now, object), value) == 0 ||
          g_hash_table_contains (moved, value))
        continue;
      if (missing++ < 5)
        problem (run, "%s is gone from the vault, and its bytes are not under damaged/", object);
    }
  if (missing > 5)
    problem (run, "… and %u more objects are gone", missing - 5);
}

static void
check_fate (Run *run, const DamageCase *kase, const Damage *damage)
{
  g_autofree char *path = g_build_filename (fx.vault, damage->object, NULL);
  g_autofree char *damaged_dir = g_build_filename (fx.vault, "damaged", NULL);
  g_autoptr (GHashTable) damaged = hashes_of (damaged_dir);
  g_autoptr (GHashTable) now = hashes_of (fx.vault);
  GHashTableIter iter;
  gpointer value;
  gboolean kept = FALSE;
  struct stat st;
  gboolean exists = lstat (path, &st) == 0;

  g_hash_table_iter_init (&iter, damaged);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    kept |= g_strcmp0 (value, damage->tampered_sha) == 0;

  switch (kase->after)
    {
      case AFTER_MOVED:
        if (damage->tampered_sha != NULL && !kept)
          problem (run, "the tampered %s is not under damaged/", damage->object);
        if (exists &&
            (!S_ISREG (st.st_mode) ||
             g_strcmp0 (g_hash_table_lookup (now, damage->object), damage->tampered_sha) == 0))
          problem (run, "the tampered %s is still in its place", damage->object);
        if (damage->tampered_sha == NULL && exists && S_ISFIFO (st.st_mode))
          problem (run, "%s is still a fifo", damage->object);
        break;
      case AFTER_REWRITTEN:
        if (kase->object == OBJ_KEY)
          {
            /* A key file may come back under a new key id, as a passphrase
             * change writes it. */
            g_autofree char *keys = g_path_get_dirname (damage->object);
            g_autofree char *prefix = g_strconcat (keys, "/", NULL);
            gboolean rewritten = FALSE;
            GHashTableIter keys_iter;
            gpointer name, sha;

            g_hash_table_iter_init (&keys_iter, now);
            while (g_hash_table_iter_next (&keys_iter, &name, &sha))
              rewritten |=
                  g_str_has_prefix (name, prefix) && strchr (name + strlen (prefix), '/') == NULL &&
                  g_strcmp0 (sha, damage->tampered_sha) != 0 && g_strcmp0 (sha, EMPTY_SHA256) != 0;
            if (!rewritten)
              problem (run, "no key file was written again in %s", keys);
            if (exists && S_ISFIFO (st.st_mode))
              problem (run, "%s is still a fifo", damage->object);
            break;
          }
        if (!exists || !S_ISREG (st.st_mode) || st.st_size == 0)
          problem (run, "%s was not written again (%s)", damage->object,
                   !exists                 ? "missing"
                   : S_ISFIFO (st.st_mode) ? "still a fifo"
                                           : "empty");
        break;
      case AFTER_GONE:
        if (exists && S_ISFIFO (st.st_mode))
          problem (run, "%s is still a fifo", damage->object);
        break;
      case AFTER_ANY:
      case AFTER_ABSENT:
        break;
    }
  check_nothing_deleted (run, damage, now, damaged);
}

/* ---- A case ---------------------------------------------------------------- */

static void
ensure_fixture (void)
{
  if (!fx.built)
    build_fixture ();
}

static const char *
exits_text (guint exits)
{
  switch (exits)
    {
      case EXIT (0):
        return "0";
      case EXIT (1):
        return "1";
      case EXIT (3):
        return "3";
      case EXIT (0) | EXIT (1):
        return "0 or 1";
      case EXIT (0) | EXIT (3):
        return "0 or 3";
      default:
        return "?";
    }
}

static const char *
status_text (int status)
{
  switch (status)
    {
      case -1:
        return "HUNG";
      case 0:
        return "0";
      case 1:
        return "1";
      case 2:
        return "2";
      case 3:
        return "3";
      default:
        return "?";
    }
}

/* Runs the case; FALSE when the agent was stopped from outside the test (a
 * SIGTERM: it says "Stopping on request") and @last_try is not set: then
 * nothing is reported, and the case runs once more. A crash is never
 * retried. */
static gboolean
run_case (const DamageCase *kase, gboolean last_try)
{
  g_autofree char *out_dir = g_build_filename (g_get_user_data_dir (), "recovered", NULL);
  g_autoptr (GPtrArray) check_items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  g_autoptr (GPtrArray) repair_items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  g_autofree char *check_message = NULL;
  g_autofree char *repair_message = NULL;
  Damage damage = { 0 };
  Run run = { 0 };
  Recovered recovered = { 0 };
  int check1 = -2, repair = -2, check2 = -2, recovery = -2, repair2 = -2;
  int latest = -1;
  gboolean detected = FALSE;

  ensure_fixture ();
  run.problems = g_string_new (NULL);
  run.items = g_ptr_array_new ();
  restore_pristine ();
  g_assert_cmpint (g_mkdir_with_parents (out_dir, 0700), ==, 0);
  tamper (kase, &damage);
  fx.tried++;
  run.agent = coffer_test_agent_start (g_get_user_state_dir ());

  /* 1. The check finds and names it. */
  check1 = cli (&run, "check", "--read-data", "--wait");
  if (check1 >= 0)
    read_job (&run, started_job (&run), check_items, NULL);
  check_message = run.job_message != NULL ? g_strdup (run.job_message) : first_line (run.err);
  for (guint i = 0; i < check_items->len; i++)
    g_ptr_array_add (run.items, g_ptr_array_index (check_items, i));
  if (check1 < 0 || !(kase->check_exits & EXIT (check1)))
    problem (&run, "the check exited %s, not %s: %s", status_text (check1),
             exits_text (kase->check_exits), check_message != NULL ? check_message : "");
  else if (kase->named && !items_mention (check_items, damage.needle))
    problem (&run, "the check exited %d but its failed items do not name %s (“%s”)%s: %s", check1,
             damage.object, damage.needle,
             check_message != NULL && strstr (check_message, damage.needle) != NULL
                 ? " (only the job's message does)"
                 : "",
             check_message != NULL ? check_message : "");
  else
    detected = TRUE;
  if (run.hung)
    goto end;

  /* 2. The repair ends, and says what it did. */
  repair = cli (&run, "check", "--repair", "--wait");
  if (repair >= 0)
    read_job (&run, started_job (&run), repair_items, NULL);
  repair_message = run.job_message != NULL ? g_strdup (run.job_message) : first_line (run.err);
  for (guint i = 0; i < repair_items->len; i++)
    g_ptr_array_add (run.items, g_ptr_array_index (repair_items, i));
  if (repair < 0 || !(kase->repair_exits & EXIT (repair)))
    problem (&run, "the repair exited %s: %s", status_text (repair),
             repair_message != NULL ? repair_message : "");
  if (run.hung)
    goto end;

  /* 3. The check after it passes; nothing was deleted. */
  check2 = cli (&run, "check", "--read-data", "--wait");
  if (check2 != 0)
    {
      g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);

      if (check2 > 0)
        read_job (&run, started_job (&run), items, NULL);
      problem (&run, "the check after the repair exited %s: %s%s%s", status_text (check2),
               run.job_message != NULL ? run.job_message : run.err,
               items->len > 0 ? " First: " : "",
               items->len > 0 ? ((Item *) g_ptr_array_index (items, 0))->reason : "");
    }
  if (run.hung)
    goto end;
  check_fate (&run, kase, &damage);

  /* 4. The points that survive are listed; the newest comes back. */
  {
    g_autoptr (GPtrArray) points = list_points (&run);
    gboolean listed[2] = { FALSE, FALSE };
    gint64 newest = 0;

    for (guint i = 0; points != NULL && i < points->len; i++)
      {
        JsonObject *point = g_ptr_array_index (points, i);
        gint64 time = json_object_get_int_member (point, "time");
        int which = time == fx.point[0].time ? 0 : time == fx.point[1].time ? 1 : -1;

        if (which < 0)
          problem (&run, "`coffer recover points` lists a point of another time: %s",
                   json_object_get_string_member (point, "id"));
        else
          listed[which] = TRUE;
        if (which >= 0 && time > newest)
          {
            newest = time;
            latest = which;
          }
      }
    for (int p = 0; points != NULL && p < 2; p++)
      {
        int survives = point_survives (&damage, p);

        if (survives == 2 && !listed[p])
          problem (&run, "the %s point survives but `coffer recover points` does not list it",
                   p == 1 ? "newest" : "older");
        if (survives == 0 && listed[p])
          problem (&run, "the %s point is lost but `coffer recover points` still lists it",
                   p == 1 ? "newest" : "older");
      }
  }
  if (run.hung)
    goto end;
  recovery = cli (&run, "recover", "run", "latest", "/", "--to", out_dir, "--conflict", "overwrite",
                  "--wait");
  if (recovery != 0 && recovery != 3)
    problem (&run, "`coffer recover run latest` exited %s: %s %s", status_text (recovery), run.out,
             run.err);
  if (run.hung)
    goto end;
  if (latest >= 0)
    compare_recovery (&run, &damage, latest, out_dir, &recovered);

  /* 5. A second repair finds nothing. */
  {
    guint total = 0;

    repair2 = cli (&run, "check", "--repair", "--wait");
    if (repair2 >= 0)
      read_job (&run, started_job (&run), NULL, &total);
    if (repair2 != 0 || total != 0)
      problem (&run, "the second repair exited %s with %u failed items: %s", status_text (repair2),
               total, run.job_message != NULL ? run.job_message : "");
  }

end:
  stop_agent (&run);
  if (run.vanished && !last_try)
    {
      g_test_message ("%s %s: the agent was stopped from outside during the case; running it "
                      "again",
                      object_slugs[kase->object], tamper_slugs[kase->tamper]);
      g_ptr_array_set_size (run.items, 0);
      run_free (&run);
      damage_clear (&damage);
      fx.tried--;
      return FALSE;
    }
  if (detected)
    fx.detected++;
  if (recovered.full && check2 == 0)
    fx.recovered++;
  g_test_message ("%s %s: %s%s%s -> check %s%s -> repair %s -> check after %s -> %s point: %u/%u "
                  "files back, %u lost (oracle: %u-%u)%s",
                  object_slugs[kase->object], tamper_slugs[kase->tamper], damage.object, " ",
                  damage.description, status_text (check1),
                  detected ? (check1 != 0 ? " found it" : " as expected") : " MISSED",
                  status_text (repair), status_text (check2),
                  latest == 1   ? "newest"
                  : latest == 0 ? "older"
                                : "no",
                  recovered.recovered, recovered.expected, recovered.lost, recovered.must_lose,
                  recovered.may_lose, run.problems->len == 0 ? " - OK" : "");
  if (run.problems->len > 0)
    {
      g_test_message ("%s %s failed (expected: check %s, repair %s, object %s):\n%s",
                      object_slugs[kase->object], tamper_slugs[kase->tamper],
                      exits_text (kase->check_exits), exits_text (kase->repair_exits),
                      after_slugs[kase->after], run.problems->str);
      g_test_fail_printf ("%s %s: %u problems, listed above", object_slugs[kase->object],
                          tamper_slugs[kase->tamper], count_lines (run.problems->str));
    }
  g_ptr_array_set_size (run.items, 0);
  run_free (&run);
  damage_clear (&damage);
  return TRUE;
}

static void
test_case (gconstpointer data)
{
  if (!run_case (data, FALSE))
    run_case (data, TRUE);
}

/* Deleting the newest point: "latest" must not quietly mean the one before. */
static void
test_latest_missing (void)
{
  g_autofree char *out_dir = g_build_filename (g_get_user_data_dir (), "recovered", NULL);
  g_autofree char *object = NULL;
  g_autofree char *path = NULL;
  g_autofree char *said = NULL;
  g_autofree char *older = NULL;
  g_autofree char *newest = NULL;
  g_autofree char *flat_said = NULL;
  g_autofree char *said_lower = NULL;
  int latest_status;
  Run run = { 0 };
  Recovered recovered = { 0 };
  Damage none = { 0 };
  int status;

  ensure_fixture ();
  run.problems = g_string_new (NULL);
  run.items = g_ptr_array_new ();
  restore_pristine ();
  g_assert_cmpint (g_mkdir_with_parents (out_dir, 0700), ==, 0);
  newest = g_strndup (fx.point[1].id, 12);
  object = g_strconcat (fx.machine, "/snapshots/", fx.point[1].id, NULL);
  path = g_build_filename (fx.vault, object, NULL);
  g_assert_cmpint (g_unlink (path), ==, 0);
  run.agent = coffer_test_agent_start (g_get_user_state_dir ());

  status = cli (&run, "recover", "run", "latest", "/", "--to", out_dir, "--conflict", "overwrite",
                "--wait");
  latest_status = status;
  said = g_strconcat (run.out, run.err, NULL);
  if (status > 0)
    {
      guint64 id = started_job (&run);

      if (id != 0 && read_job (&run, id, NULL, NULL))
        {
          g_autofree char *all = g_strconcat (said, " ", run.job_message, NULL);
          g_free (said);
          said = g_steal_pointer (&all);
        }
    }
  said_lower = g_utf8_strdown (said, -1);
  if (status == 0)
    problem (&run, "`coffer recover run latest` succeeded with the newest point missing: %s", said);
  else if (status > 0 && strstr (said_lower, "missing") == NULL)
    problem (&run,
             "`coffer recover run latest` failed without saying the newest point is "
             "missing: %s",
             said);
  else if (status > 0 && strstr (said, newest) == NULL)
    g_test_message ("note: the refusal does not name the missing point %.12s: %s", fx.point[1].id,
                    said);
  if (!run.hung)
    {
      remove_tree (out_dir);
      g_assert_cmpint (g_mkdir_with_parents (out_dir, 0700), ==, 0);
      older = g_strndup (fx.point[0].id, 12);
      status = cli (&run, "recover", "run", older, "/", "--to", out_dir, "--conflict", "overwrite",
                    "--wait");
      if (status != 0)
        problem (&run, "recovering the older point %s by its id exited %s: %s %s", older,
                 status_text (status), run.out, run.err);
      else
        {
          none.dead_packs = g_ptr_array_new ();
          none.dead_point = 1;
          compare_recovery (&run, &none, 0, out_dir, &recovered);
          g_ptr_array_unref (none.dead_packs);
        }
    }
  stop_agent (&run);
  flat_said = flat (said);
  g_test_message ("point-newest deleted: recover latest -> exit %s: %s; older point by id: %u/%u "
                  "files back%s",
                  status_text (latest_status), flat_said, recovered.recovered, recovered.expected,
                  run.problems->len == 0 ? " - OK" : "");
  if (run.problems->len > 0)
    {
      g_test_message ("latest with the newest point missing:\n%s", run.problems->str);
      g_test_fail_printf ("%u problems, listed above", count_lines (run.problems->str));
    }
  run_free (&run);
}

/* The untouched vault, as the control: nothing found, nothing repaired,
 * everything back. */
static void
test_untouched (void)
{
  g_autofree char *out_dir = g_build_filename (g_get_user_data_dir (), "recovered", NULL);
  Run run = { 0 };
  Recovered recovered = { 0 };
  Damage none = { 0 };
  int status;

  ensure_fixture ();
  run.problems = g_string_new (NULL);
  run.items = g_ptr_array_new ();
  restore_pristine ();
  g_assert_cmpint (g_mkdir_with_parents (out_dir, 0700), ==, 0);
  run.agent = coffer_test_agent_start (g_get_user_state_dir ());
  if ((status = cli (&run, "check", "--read-data", "--wait")) != 0)
    problem (&run, "the check exited %s", status_text (status));
  if (!run.hung && (status = cli (&run, "check", "--repair", "--wait")) != 0)
    problem (&run, "the repair exited %s", status_text (status));
  if (!run.hung && (status = cli (&run, "recover", "run", "latest", "/", "--to", out_dir,
                                  "--conflict", "overwrite", "--wait")) != 0)
    problem (&run, "the recovery exited %s", status_text (status));
  if (!run.hung)
    {
      none.dead_packs = g_ptr_array_new ();
      none.dead_point = -1;
      compare_recovery (&run, &none, 1, out_dir, &recovered);
      g_ptr_array_unref (none.dead_packs);
    }
  stop_agent (&run);
  g_test_message ("untouched: %u/%u files back%s", recovered.recovered, recovered.expected,
                  run.problems->len == 0 ? " - OK" : "");
  if (run.problems->len > 0)
    {
      g_test_message ("the untouched vault:\n%s", run.problems->str);
      g_test_fail_printf ("%u problems, listed above", count_lines (run.problems->str));
    }
  run_free (&run);
}

static void
test_totals (void)
{
  g_test_message ("tamperings tried %u, detected %u, fully recovered after repair %u", fx.tried,
                  fx.detected, fx.recovered);
}

int
main (int argc, char **argv)
{
  int status;

  /* The report quotes the agent's messages, which are UTF-8. */
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/damage/untouched", test_untouched);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/damage/%s/%s", object_slugs[cases[i].object],
                                               tamper_slugs[cases[i].tamper]);
      g_test_add_data_func (path, &cases[i], test_case);
    }
  g_test_add_func ("/damage/point-newest/delete-then-recover-latest", test_latest_missing);
  g_test_add_func ("/damage/summary/totals", test_totals);

  status = g_test_run ();
  if (fx.work != NULL)
    remove_tree (fx.work);
  return status;
}
