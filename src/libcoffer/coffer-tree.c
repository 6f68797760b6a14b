/* coffer-tree.c: the entries of one folder as a tree blob, and back.
 *
 * A tree is one folder's entries in a binary, little-endian, versioned form
 * laid out in FORMAT.md ("Tree"). The backup engine encrypts it; this file
 * only writes and reads the plain bytes.
 *
 * A tree read back comes from the vault and is untrusted: every length is
 * checked against the bytes left before anything is allocated, every count
 * against the smallest room its elements can take, and every entry against
 * the same rules the writer asserts (node_check()), so that a tree which
 * parses can be written again byte for byte, and no entry name can lead a
 * restore outside its target folder.
 */
#include "config.h"

#include "coffer-tree.h"

#include "coffer-error.h"

#include <string.h>

#define TREE_MAGIC "CTRE"
#define TREE_MAGIC_SIZE 4
#define TREE_HEADER_SIZE (TREE_MAGIC_SIZE + 4 + 4)

/* The fixed part of an entry, which bounds the entry count: type, flags,
 * name length, mode, uid, gid, the two times, size, hardlink group and the
 * xattr count. (A valid entry also has a name: an empty one is refused as
 * such, not as a count that cannot fit.) */
#define ENTRY_MIN_SIZE (1 + 1 + 2 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 2)
#define EXTENT_SIZE 16

#define FLAG_USER 0x01
#define FLAG_GROUP 0x02
#define FLAG_SPARSE 0x04
#define FLAG_SUBTREE 0x08
#define FLAGS_KNOWN (FLAG_USER | FLAG_GROUP | FLAG_SPARSE | FLAG_SUBTREE)

#define MODE_MASK 07777
/* Linux's XATTR_NAME_MAX and XATTR_SIZE_MAX. */
#define XATTR_NAME_LIMIT 255
#define XATTR_VALUE_LIMIT 65536
#define XATTR_COUNT_LIMIT G_MAXUINT16
#define STRING16_LIMIT G_MAXUINT16

/**
 * coffer_node_new:
 *
 * Returns: (transfer full): an empty node, every field zero
 */
CofferNode *
coffer_node_new (void)
{
  return g_new0 (CofferNode, 1);
}

/**
 * coffer_node_free:
 * @node: (nullable): a node
 *
 * Frees @node and everything it points to.
 */
void
coffer_node_free (CofferNode *node)
{
  if (node == NULL)
    return;
  g_free (node->name);
  g_free (node->user);
  g_free (node->group);
  g_clear_pointer (&node->xattr_names, g_ptr_array_unref);
  g_clear_pointer (&node->xattr_values, g_ptr_array_unref);
  g_free (node->link_target);
  g_clear_pointer (&node->extents, g_array_unref);
  g_clear_pointer (&node->chunks, g_array_unref);
  g_free (node);
}

/**
 * coffer_node_add_xattr:
 * @node: a node
 * @name: the attribute's full name (`user.comment`)
 * @value: its value
 *
 * Appends an extended attribute, creating the arrays (which own their
 * elements) on first use.
 */
void
coffer_node_add_xattr (CofferNode *node, const char *name, GBytes *value)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (value != NULL);

  if (node->xattr_names == NULL)
    {
      node->xattr_names = g_ptr_array_new_with_free_func (g_free);
      node->xattr_values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
    }
  g_ptr_array_add (node->xattr_names, g_strdup (name));
  g_ptr_array_add (node->xattr_values, g_bytes_ref (value));
}

/**
 * coffer_node_chunks_new:
 *
 * Returns: (transfer full): an empty array for #CofferNode.chunks
 */
GArray *
coffer_node_chunks_new (void)
{
  return g_array_new (FALSE, FALSE, COFFER_TREE_ID_SIZE);
}

static const char *
name_problem (const char *name, gsize length)
{
  if (length == 0)
    return "is empty";
  if (length > COFFER_TREE_NAME_MAX)
    return "is too long";
  if (memchr (name, '\0', length) != NULL)
    return "holds a NUL byte";
  if (memchr (name, '/', length) != NULL)
    return "holds a “/”";
  if ((length == 1 && name[0] == '.') || (length == 2 && name[0] == '.' && name[1] == '.'))
    return "is not allowed";
  return NULL;
}

/**
 * coffer_tree_name_is_valid:
 * @name: raw bytes, not necessarily NUL-terminated
 * @length: how many
 *
 * Whether @name may be an entry of a tree: one path component of 1 to
 * %COFFER_TREE_NAME_MAX bytes, not `.` or `..`, without `/` or NUL. Any
 * other bytes, UTF-8 or not, are allowed.
 *
 * Returns: %TRUE if it may
 */
gboolean
coffer_tree_name_is_valid (const char *name, gsize length)
{
  g_return_val_if_fail (name != NULL || length == 0, FALSE);

  return name_problem (name, length) == NULL;
}

/* @name for a message, which may travel over D-Bus: valid UTF-8, control
 * characters and bytes that are not UTF-8 escaped, long names shortened. */
static char *
display_name (const char *name, gsize length)
{
  g_autoptr (GString) shown = g_string_new (NULL);
  const char *p = name;
  const char *end = name + MIN (length, 200);

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (shown, "\\x%02x", (guint8) *p);
          p++;
          continue;
        }
      if (c < 0x20 || c == 0x7f || c == '\\')
        g_string_append_printf (shown, "\\x%02x", (guint) c);
      else
        g_string_append_unichar (shown, c);
      p = g_utf8_next_char (p);
    }
  if (length > 200)
    g_string_append (shown, "…");
  return g_string_free (g_steal_pointer (&shown), FALSE);
}

static gboolean corrupt (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
corrupt (GError **error, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT, "corrupt tree: %s", detail);
  return FALSE;
}

static gboolean
check_name (const char *name, gsize length, GError **error)
{
  const char *problem = name_problem (name, length);
  g_autofree char *shown = NULL;

  if (problem == NULL)
    return TRUE;
  shown = display_name (name, length);
  return corrupt (error, "entry name “%s” %s", shown, problem);
}

static gboolean
check_extents (const CofferNode *node, const char *shown, GError **error)
{
  guint64 end = 0;

  for (guint i = 0; i < node->extents->len; i++)
    {
      const CofferExtent *extent = &g_array_index (node->extents, CofferExtent, i);

      if (extent->length == 0)
        return corrupt (error, "entry “%s”: extent %u is empty", shown, i);
      if (i > 0 && extent->offset < end)
        return corrupt (error, "entry “%s”: extent %u overlaps or precedes the one before", shown,
                        i);
      if (extent->length > node->size || extent->offset > node->size - extent->length)
        return corrupt (error, "entry “%s”: extent %u lies beyond the file's size", shown, i);
      end = extent->offset + extent->length;
    }
  return TRUE;
}

static gboolean
check_xattrs (const CofferNode *node, const char *shown, GError **error)
{
  if (node->xattr_names == NULL && node->xattr_values == NULL)
    return TRUE;
  if (node->xattr_names == NULL || node->xattr_values == NULL ||
      node->xattr_names->len != node->xattr_values->len)
    return corrupt (error, "entry “%s”: extended attribute names and values do not pair up", shown);
  if (node->xattr_names->len > XATTR_COUNT_LIMIT)
    return corrupt (error, "entry “%s”: too many extended attributes", shown);
  for (guint i = 0; i < node->xattr_names->len; i++)
    {
      const char *name = g_ptr_array_index (node->xattr_names, i);
      GBytes *value = g_ptr_array_index (node->xattr_values, i);
      gsize length = strlen (name);

      if (length == 0 || length > XATTR_NAME_LIMIT)
        return corrupt (error, "entry “%s”: extended attribute %u has a name of %zu bytes", shown,
                        i, length);
      if (g_bytes_get_size (value) > XATTR_VALUE_LIMIT)
        return corrupt (error, "entry “%s”: extended attribute %u is too large", shown, i);
    }
  return TRUE;
}

static gboolean
check_owner_name (const char *owner, const char *shown, GError **error)
{
  gsize length;

  if (owner == NULL)
    return TRUE;
  length = strlen (owner);
  if (length == 0 || length > STRING16_LIMIT)
    return corrupt (error, "entry “%s”: an owner name of %zu bytes", shown, length);
  return TRUE;
}

/* The rules every node obeys, for the writer (which asserts them) and the
 * reader (which refuses a tree breaking them). Xattr order is checked
 * separately: the writer sorts, the reader requires it sorted. */
static gboolean
node_check (const CofferNode *node, GError **error)
{
  g_autofree char *shown = NULL;
  gboolean file = node->type == COFFER_NODE_FILE;
  gboolean device = node->type == COFFER_NODE_CHARDEV || node->type == COFFER_NODE_BLOCKDEV;

  if (node->name == NULL)
    return corrupt (error, "an entry has no name");
  if (!check_name (node->name, strlen (node->name), error))
    return FALSE;
  shown = display_name (node->name, strlen (node->name));

  if (node->type < COFFER_NODE_FILE || node->type > COFFER_NODE_BLOCKDEV)
    return corrupt (error, "entry “%s” has an unknown type %d", shown, node->type);
  if (node->mode > MODE_MASK)
    return corrupt (error, "entry “%s” has a mode of 0%o", shown, node->mode);
  if (!check_owner_name (node->user, shown, error) || !check_owner_name (node->group, shown, error))
    return FALSE;
  if (!check_xattrs (node, shown, error))
    return FALSE;
  if (node->size != 0 && !file && node->type != COFFER_NODE_SYMLINK)
    return corrupt (error, "entry “%s” has a size but is neither a file nor a symlink", shown);
  if (node->hardlink_group != 0 && node->type == COFFER_NODE_DIR)
    return corrupt (error, "entry “%s” is a folder in a hardlink group", shown);

  if ((node->link_target != NULL) != (node->type == COFFER_NODE_SYMLINK))
    return corrupt (error, "entry “%s”: only symlinks, and all of them, have a target", shown);
  if (node->link_target != NULL &&
      (node->link_target[0] == '\0' || strlen (node->link_target) > STRING16_LIMIT))
    return corrupt (error, "entry “%s”: a symlink target of %zu bytes", shown,
                    strlen (node->link_target));
  if (node->extents != NULL && !file)
    return corrupt (error, "entry “%s” has extents but is not a file", shown);
  if (node->extents != NULL && !check_extents (node, shown, error))
    return FALSE;
  if (node->chunks != NULL && node->chunks->len > 0 && !file)
    return corrupt (error, "entry “%s” has content but is not a file", shown);
  if (node->chunks != NULL && g_array_get_element_size (node->chunks) != COFFER_TREE_ID_SIZE)
    return corrupt (error, "entry “%s” has a malformed chunk list", shown);
  if (node->has_subtree && node->type != COFFER_NODE_DIR)
    return corrupt (error, "entry “%s” has a subtree but is not a folder", shown);
  if (node->rdev != 0 && !device)
    return corrupt (error, "entry “%s” has a device number but is not a device", shown);
  return TRUE;
}

/* Writing. */

static void
put_u8 (GByteArray *out, guint8 value)
{
  g_byte_array_append (out, &value, 1);
}

static void
put_u16 (GByteArray *out, guint16 value)
{
  guint16 le = GUINT16_TO_LE (value);

  g_byte_array_append (out, (const guint8 *) &le, sizeof le);
}

static void
put_u32 (GByteArray *out, guint32 value)
{
  guint32 le = GUINT32_TO_LE (value);

  g_byte_array_append (out, (const guint8 *) &le, sizeof le);
}

static void
put_u64 (GByteArray *out, guint64 value)
{
  guint64 le = GUINT64_TO_LE (value);

  g_byte_array_append (out, (const guint8 *) &le, sizeof le);
}

static void
put_string16 (GByteArray *out, const char *text)
{
  gsize length = strlen (text);

  put_u16 (out, (guint16) length);
  g_byte_array_append (out, (const guint8 *) text, length);
}

static int
compare_node_names (gconstpointer a, gconstpointer b)
{
  const CofferNode *x = *(const CofferNode *const *) a;
  const CofferNode *y = *(const CofferNode *const *) b;

  return strcmp (x->name, y->name);
}

static int
compare_xattrs (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const GPtrArray *names = user_data;

  return strcmp (g_ptr_array_index (names, *(const guint *) a),
                 g_ptr_array_index (names, *(const guint *) b));
}

static void
put_xattrs (GByteArray *out, const CofferNode *node)
{
  guint count = node->xattr_names != NULL ? node->xattr_names->len : 0;
  g_autofree guint *order = g_new (guint, MAX (count, 1));

  for (guint i = 0; i < count; i++)
    order[i] = i;
  g_qsort_with_data (order, count, sizeof *order, compare_xattrs, node->xattr_names);

  put_u16 (out, (guint16) count);
  for (guint i = 0; i < count; i++)
    {
      const char *name = g_ptr_array_index (node->xattr_names, order[i]);
      GBytes *value = g_ptr_array_index (node->xattr_values, order[i]);
      gsize size;
      const guint8 *data = g_bytes_get_data (value, &size);

      if (i > 0 && strcmp (g_ptr_array_index (node->xattr_names, order[i - 1]), name) == 0)
        g_error ("coffer_tree_serialize: entry “%s” has the extended attribute “%s” twice",
                 node->name, name);
      put_u8 (out, (guint8) strlen (name));
      g_byte_array_append (out, (const guint8 *) name, strlen (name));
      put_u32 (out, (guint32) size);
      if (size > 0)
        g_byte_array_append (out, data, size);
    }
}

static void
put_node (GByteArray *out, const CofferNode *node)
{
  guint8 flags = 0;

  if (node->user != NULL)
    flags |= FLAG_USER;
  if (node->group != NULL)
    flags |= FLAG_GROUP;
  if (node->extents != NULL)
    flags |= FLAG_SPARSE;
  if (node->has_subtree)
    flags |= FLAG_SUBTREE;

  put_u8 (out, (guint8) node->type);
  put_u8 (out, flags);
  put_string16 (out, node->name);
  put_u32 (out, node->mode);
  put_u32 (out, node->uid);
  put_u32 (out, node->gid);
  put_u64 (out, (guint64) node->mtime_ns);
  put_u64 (out, (guint64) node->ctime_ns);
  put_u64 (out, node->size);
  put_u64 (out, node->hardlink_group);
  if (node->user != NULL)
    put_string16 (out, node->user);
  if (node->group != NULL)
    put_string16 (out, node->group);
  put_xattrs (out, node);

  switch (node->type)
    {
      case COFFER_NODE_FILE:
        if (node->extents != NULL)
          {
            put_u32 (out, node->extents->len);
            for (guint i = 0; i < node->extents->len; i++)
              {
                const CofferExtent *extent = &g_array_index (node->extents, CofferExtent, i);

                put_u64 (out, extent->offset);
                put_u64 (out, extent->length);
              }
          }
        put_u32 (out, node->chunks != NULL ? node->chunks->len : 0);
        if (node->chunks != NULL && node->chunks->len > 0)
          g_byte_array_append (out, (const guint8 *) node->chunks->data,
                               node->chunks->len * COFFER_TREE_ID_SIZE);
        break;
      case COFFER_NODE_DIR:
        if (node->has_subtree)
          g_byte_array_append (out, node->subtree, COFFER_TREE_ID_SIZE);
        break;
      case COFFER_NODE_SYMLINK:
        put_string16 (out, node->link_target);
        break;
      case COFFER_NODE_FIFO:
        break;
      case COFFER_NODE_CHARDEV:
      case COFFER_NODE_BLOCKDEV:
        put_u64 (out, node->rdev);
        break;
      default:
        g_assert_not_reached ();
    }
}

/**
 * coffer_tree_serialize:
 * @nodes: (element-type CofferNode): the entries of one folder, in any order
 *
 * Writes a tree in the current format: entries sorted by name (bytewise),
 * each one's extended attributes sorted by name, so that equal folders give
 * equal bytes. @nodes itself is left as it was.
 *
 * Every node must obey the rules a reader checks (a valid, unique name;
 * fields that do not apply to its type left unset; sorted extents inside its
 * size); breaking one is a programming error and aborts. The walker checks
 * names with coffer_tree_name_is_valid() before it captures an entry.
 *
 * Returns: (transfer full): the tree's bytes
 */
GBytes *
coffer_tree_serialize (GPtrArray *nodes)
{
  g_autoptr (GPtrArray) sorted = NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();

  g_return_val_if_fail (nodes != NULL, NULL);

  sorted = g_ptr_array_copy (nodes, NULL, NULL);
  /* The copy inherits the free function, but owns nothing. */
  g_ptr_array_set_free_func (sorted, NULL);
  for (guint i = 0; i < sorted->len; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!node_check (g_ptr_array_index (sorted, i), &error))
        g_error ("coffer_tree_serialize: %s", error->message);
    }
  g_ptr_array_sort (sorted, compare_node_names);

  g_byte_array_append (out, (const guint8 *) TREE_MAGIC, TREE_MAGIC_SIZE);
  put_u32 (out, COFFER_TREE_FORMAT);
  put_u32 (out, sorted->len);
  for (guint i = 0; i < sorted->len; i++)
    {
      const CofferNode *node = g_ptr_array_index (sorted, i);

      if (i > 0 && compare_node_names (&sorted->pdata[i - 1], &sorted->pdata[i]) == 0)
        g_error ("coffer_tree_serialize: two entries are named “%s”", node->name);
      put_node (out, node);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Reading. */

typedef struct
{
  const guint8 *data;
  gsize left;
  guint entry; /* the entry being read, for messages */
} Reader;

static gboolean
short_input (Reader *reader, GError **error)
{
  return corrupt (error, "entry %u is cut short", reader->entry);
}

static gboolean
take (Reader *reader, gsize size, const guint8 **out, GError **error)
{
  *out = NULL;
  if (size > reader->left)
    return short_input (reader, error);
  *out = reader->data;
  reader->data += size;
  reader->left -= size;
  return TRUE;
}

static gboolean
take_u8 (Reader *reader, guint8 *out, GError **error)
{
  const guint8 *p;

  if (!take (reader, 1, &p, error))
    return FALSE;
  *out = p[0];
  return TRUE;
}

static gboolean
take_u16 (Reader *reader, guint16 *out, GError **error)
{
  const guint8 *p;

  if (!take (reader, 2, &p, error))
    return FALSE;
  *out = (guint16) (p[0] | (p[1] << 8));
  return TRUE;
}

static gboolean
take_u32 (Reader *reader, guint32 *out, GError **error)
{
  const guint8 *p;

  if (!take (reader, 4, &p, error))
    return FALSE;
  *out = (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
  return TRUE;
}

static gboolean
take_u64 (Reader *reader, guint64 *out, GError **error)
{
  guint32 low, high;

  if (!take_u32 (reader, &low, error) || !take_u32 (reader, &high, error))
    return FALSE;
  *out = ((guint64) high << 32) | low;
  return TRUE;
}

/* @length bytes that form a non-empty string without NUL. */
static gboolean
take_string (Reader *reader, gsize length, const char *what, char **out, GError **error)
{
  const guint8 *p;

  if (!take (reader, length, &p, error))
    return FALSE;
  if (length == 0 || memchr (p, '\0', length) != NULL)
    return corrupt (error, "entry %u: %s is empty or holds a NUL byte", reader->entry, what);
  *out = g_strndup ((const char *) p, length);
  return TRUE;
}

static gboolean
take_string16 (Reader *reader, const char *what, char **out, GError **error)
{
  guint16 length;

  return take_u16 (reader, &length, error) && take_string (reader, length, what, out, error);
}

static gboolean
newer_format (GError **error, const char *what, guint value)
{
  g_set_error (error, COFFER_ERROR, COFFER_ERROR_NEWER_FORMAT,
               "This tree was made by a newer version of Coffer (it holds %s %u): update "
               "Coffer to read it",
               what, value);
  return FALSE;
}

static gboolean
take_xattrs (Reader *reader, CofferNode *node, GError **error)
{
  guint16 count;

  if (!take_u16 (reader, &count, error))
    return FALSE;
  /* Each takes a length, a name byte and a value length at least. */
  if (count > reader->left / (1 + 1 + 4))
    return short_input (reader, error);
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *name = NULL;
      g_autoptr (GBytes) value = NULL;
      guint8 name_length;
      guint32 value_length;
      const guint8 *p;

      if (!take_u8 (reader, &name_length, error) ||
          !take_string (reader, name_length, "an extended attribute's name", &name, error) ||
          !take_u32 (reader, &value_length, error))
        return FALSE;
      if (value_length > XATTR_VALUE_LIMIT)
        return corrupt (error, "entry %u: an extended attribute of %u bytes", reader->entry,
                        value_length);
      if (!take (reader, value_length, &p, error))
        return FALSE;
      if (i > 0 &&
          strcmp (g_ptr_array_index (node->xattr_names, node->xattr_names->len - 1), name) >= 0)
        return corrupt (error, "entry %u: extended attributes are out of order or repeated",
                        reader->entry);
      value = g_bytes_new (p, value_length);
      coffer_node_add_xattr (node, name, value);
    }
  return TRUE;
}

static gboolean
take_file (Reader *reader, CofferNode *node, guint8 flags, GError **error)
{
  guint32 count;
  const guint8 *p;

  if (flags & FLAG_SPARSE)
    {
      if (!take_u32 (reader, &count, error))
        return FALSE;
      if (count > reader->left / EXTENT_SIZE)
        return short_input (reader, error);
      node->extents = g_array_sized_new (FALSE, FALSE, sizeof (CofferExtent), count);
      for (guint i = 0; i < count; i++)
        {
          CofferExtent extent;

          if (!take_u64 (reader, &extent.offset, error) ||
              !take_u64 (reader, &extent.length, error))
            return FALSE;
          g_array_append_val (node->extents, extent);
        }
    }
  if (!take_u32 (reader, &count, error))
    return FALSE;
  if (count > reader->left / COFFER_TREE_ID_SIZE)
    return short_input (reader, error);
  if (!take (reader, (gsize) count * COFFER_TREE_ID_SIZE, &p, error))
    return FALSE;
  node->chunks = g_array_sized_new (FALSE, FALSE, COFFER_TREE_ID_SIZE, count);
  g_array_append_vals (node->chunks, p, count);
  return TRUE;
}

static gboolean
take_type_fields (Reader *reader, CofferNode *node, guint8 flags, GError **error)
{
  const guint8 *p;

  if ((flags & FLAG_SPARSE) && node->type != COFFER_NODE_FILE)
    return corrupt (error, "entry %u has extents but is not a file", reader->entry);
  if ((flags & FLAG_SUBTREE) && node->type != COFFER_NODE_DIR)
    return corrupt (error, "entry %u has a subtree but is not a folder", reader->entry);

  switch (node->type)
    {
      case COFFER_NODE_FILE:
        return take_file (reader, node, flags, error);
      case COFFER_NODE_DIR:
        if (flags & FLAG_SUBTREE)
          {
            if (!take (reader, COFFER_TREE_ID_SIZE, &p, error))
              return FALSE;
            memcpy (node->subtree, p, COFFER_TREE_ID_SIZE);
            node->has_subtree = TRUE;
          }
        return TRUE;
      case COFFER_NODE_SYMLINK:
        return take_string16 (reader, "the symlink's target", &node->link_target, error);
      case COFFER_NODE_FIFO:
        return TRUE;
      case COFFER_NODE_CHARDEV:
      case COFFER_NODE_BLOCKDEV:
        return take_u64 (reader, &node->rdev, error);
      default:
        g_assert_not_reached ();
    }
}

static CofferNode *
take_node (Reader *reader, GError **error)
{
  g_autoptr (CofferNode) node = coffer_node_new ();
  guint8 type, flags;
  guint16 name_length;
  guint64 mtime, ctime;
  const guint8 *name;

  if (!take_u8 (reader, &type, error) || !take_u8 (reader, &flags, error))
    return NULL;
  if (type == 0)
    {
      corrupt (error, "entry %u has no type", reader->entry);
      return NULL;
    }
  if (type > COFFER_NODE_BLOCKDEV)
    {
      newer_format (error, "an entry of type", type);
      return NULL;
    }
  if (flags & ~FLAGS_KNOWN)
    {
      newer_format (error, "an entry with flags", flags);
      return NULL;
    }
  node->type = type;

  if (!take_u16 (reader, &name_length, error) || !take (reader, name_length, &name, error) ||
      !check_name ((const char *) name, name_length, error))
    return NULL;
  node->name = g_strndup ((const char *) name, name_length);

  if (!take_u32 (reader, &node->mode, error) || !take_u32 (reader, &node->uid, error) ||
      !take_u32 (reader, &node->gid, error) || !take_u64 (reader, &mtime, error) ||
      !take_u64 (reader, &ctime, error) || !take_u64 (reader, &node->size, error) ||
      !take_u64 (reader, &node->hardlink_group, error))
    return NULL;
  node->mtime_ns = (gint64) mtime;
  node->ctime_ns = (gint64) ctime;

  if ((flags & FLAG_USER) && !take_string16 (reader, "the user name", &node->user, error))
    return NULL;
  if ((flags & FLAG_GROUP) && !take_string16 (reader, "the group name", &node->group, error))
    return NULL;
  if (!take_xattrs (reader, node, error) || !take_type_fields (reader, node, flags, error))
    return NULL;
  if (!node_check (node, error))
    return NULL;
  return g_steal_pointer (&node);
}

/**
 * coffer_tree_parse:
 * @tree: the bytes of a tree, as coffer_tree_serialize() wrote them
 * @error: return location for a #GError
 *
 * Reads a tree. Anything that breaks the format is %COFFER_ERROR_CORRUPT
 * (the caller adds which object it read with g_prefix_error()); a format,
 * entry type or flag this version does not know is
 * %COFFER_ERROR_NEWER_FORMAT. A tree that parses holds only valid, unique
 * names in bytewise order.
 *
 * Files always get a chunk array (perhaps empty); the others never.
 *
 * Returns: (transfer container) (element-type CofferNode): the entries, with
 *   a free function set; or %NULL with @error set
 */
GPtrArray *
coffer_tree_parse (GBytes *tree, GError **error)
{
  g_autoptr (GPtrArray) nodes = NULL;
  Reader reader = { 0 };
  const guint8 *magic;
  guint32 version, count;
  gsize size;

  g_return_val_if_fail (tree != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  reader.data = g_bytes_get_data (tree, &size);
  reader.left = size;
  if (size < TREE_HEADER_SIZE)
    {
      corrupt (error, "%zu bytes are too few for a tree", size);
      return NULL;
    }
  if (!take (&reader, TREE_MAGIC_SIZE, &magic, error))
    return NULL;
  if (memcmp (magic, TREE_MAGIC, TREE_MAGIC_SIZE) != 0)
    {
      corrupt (error, "it does not start as a tree does");
      return NULL;
    }
  if (!take_u32 (&reader, &version, error) || !take_u32 (&reader, &count, error))
    return NULL;
  if (version > COFFER_TREE_FORMAT)
    {
      newer_format (error, "format", version);
      return NULL;
    }
  if (version == 0)
    {
      corrupt (error, "format 0 does not exist");
      return NULL;
    }
  if (count > reader.left / ENTRY_MIN_SIZE)
    {
      corrupt (error, "%u entries cannot fit in %zu bytes", count, size);
      return NULL;
    }

  nodes = g_ptr_array_new_full (count, (GDestroyNotify) coffer_node_free);
  for (reader.entry = 0; reader.entry < count; reader.entry++)
    {
      CofferNode *node = take_node (&reader, error);

      if (node == NULL)
        return NULL;
      g_ptr_array_add (nodes, node);
      if (reader.entry > 0 && compare_node_names (&nodes->pdata[reader.entry - 1], &node) >= 0)
        {
          g_autofree char *shown = display_name (node->name, strlen (node->name));

          corrupt (error, "entry name “%s” is out of order or repeated", shown);
          return NULL;
        }
    }
  if (reader.left != 0)
    {
      corrupt (error, "%zu bytes follow the last entry", reader.left);
      return NULL;
    }
  return g_steal_pointer (&nodes);
}
