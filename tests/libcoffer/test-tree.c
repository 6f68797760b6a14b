/* test-tree.c: a tree reads back exactly as written, whatever its names, and a
 * damaged tree is refused without ever yielding a name a restore could misuse. */
#include "config.h"

#include <string.h>

#include "coffer.h"

/* Offsets FORMAT.md gives: the header, then the first entry's type, flags and
 * name length. */
#define HEADER_SIZE 12
#define FIRST_NAME_LENGTH (HEADER_SIZE + 2)
#define FIRST_NAME (HEADER_SIZE + 4)

static void
fill_id (guint8 *id, guint8 seed)
{
  for (guint i = 0; i < COFFER_TREE_ID_SIZE; i++)
    id[i] = (guint8) (seed * 31 + i);
}

static CofferNode *
node_new (const char *name, CofferNodeType type)
{
  CofferNode *node = coffer_node_new ();

  node->name = g_strdup (name);
  node->type = type;
  node->mode = 0644;
  node->uid = 1000;
  node->gid = 1000;
  node->mtime_ns = G_GINT64_CONSTANT (1700000000123456789);
  node->ctime_ns = G_GINT64_CONSTANT (1700000001987654321);
  return node;
}

static void
add_xattr (CofferNode *node, const char *name, const void *value, gsize size)
{
  g_autoptr (GBytes) bytes = g_bytes_new (value, size);

  coffer_node_add_xattr (node, name, bytes);
}

static void
add_extent (CofferNode *node, guint64 offset, guint64 length)
{
  CofferExtent extent = { offset, length };

  if (node->extents == NULL)
    node->extents = g_array_new (FALSE, FALSE, sizeof (CofferExtent));
  g_array_append_val (node->extents, extent);
}

/* A file with every field a file can have. */
static CofferNode *
full_file_new (const char *name)
{
  CofferNode *node = node_new (name, COFFER_NODE_FILE);
  guint8 id[COFFER_TREE_ID_SIZE];

  node->mode = 04751;
  node->uid = 4294967294u;
  node->gid = 0;
  node->user = g_strdup ("nobody");
  node->group = g_strdup ("root");
  node->mtime_ns = G_GINT64_CONSTANT (-1234567890123); /* before 1970 */
  node->ctime_ns = G_MAXINT64;
  node->size = G_GUINT64_CONSTANT (2) << 30;
  node->hardlink_group = G_GUINT64_CONSTANT (0xfedcba9876543210);
  add_xattr (node, "user.zeta", "last", 4);
  add_xattr (node, "user.binary", "\0\1\2\377", 4);
  add_xattr (node, "user.empty", "", 0);
  add_xattr (node, "security.selinux", "system_u:object_r:user_home_t:s0", 33);
  add_extent (node, 4096, 4096);
  add_extent (node, G_GUINT64_CONSTANT (1) << 30, 65536);
  node->chunks = coffer_node_chunks_new ();
  for (guint8 i = 0; i < 3; i++)
    {
      fill_id (id, i);
      g_array_append_vals (node->chunks, id, 1);
    }
  return node;
}

/* Entries of every type, and the odd names a real folder holds. */
static GPtrArray *
sample_nodes (void)
{
  GPtrArray *nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  char long_name[256];
  CofferNode *node;
  const char *odd_names[] = {
    "caf\xc3\xa9",              /* NFC */
    "cafe\xcc\x81",             /* NFD: other bytes, another entry */
    "line\nbreak",              /* newline */
    " spaces  around ",         /* spaces */
    "-rf",                      /* a leading dash */
    "--",                       /* two */
    "...",                      /* dots, but not . or .. */
    ".hidden",                  /* a dot file */
    "latin1 \xe9t\xe9",         /* not UTF-8 */
    "\xff\xfe\x01\x7f",         /* not text at all */
    "tab\there",                /* control characters */
    "\xe6\x96\x87\xe4\xbb\xb6", /* CJK */
    "\xf0\x9f\x92\xbe",         /* an emoji (4-byte UTF-8) */
    "back\\slash",              /* a backslash */
  };

  for (guint i = 0; i < G_N_ELEMENTS (odd_names); i++)
    {
      node = node_new (odd_names[i], COFFER_NODE_FILE);
      node->size = i;
      g_ptr_array_add (nodes, node);
    }
  memset (long_name, 'n', 255);
  long_name[255] = '\0';
  g_ptr_array_add (nodes, node_new (long_name, COFFER_NODE_FILE));

  g_ptr_array_add (nodes, full_file_new ("full file"));

  node = node_new ("folder", COFFER_NODE_DIR);
  node->mode = 01777;
  fill_id (node->subtree, 99);
  node->has_subtree = TRUE;
  add_xattr (node, "system.posix_acl_default", "\2\0\0\0", 4);
  g_ptr_array_add (nodes, node);

  g_ptr_array_add (nodes, node_new ("unread folder", COFFER_NODE_DIR));

  node = node_new ("link", COFFER_NODE_SYMLINK);
  node->link_target = g_strdup ("../\xff odd/target\n");
  node->size = strlen (node->link_target);
  node->mode = 0777;
  g_ptr_array_add (nodes, node);

  node = node_new ("pipe", COFFER_NODE_FIFO);
  node->hardlink_group = 7;
  g_ptr_array_add (nodes, node);

  node = node_new ("null", COFFER_NODE_CHARDEV);
  node->rdev = 0x103;
  g_ptr_array_add (nodes, node);

  node = node_new ("sda", COFFER_NODE_BLOCKDEV);
  node->rdev = G_GUINT64_CONSTANT (0xfffff00000000800);
  g_ptr_array_add (nodes, node);

  return nodes;
}

static GBytes *
xattr_value (const CofferNode *node, const char *name)
{
  for (guint i = 0; node->xattr_names != NULL && i < node->xattr_names->len; i++)
    if (strcmp (g_ptr_array_index (node->xattr_names, i), name) == 0)
      return g_ptr_array_index (node->xattr_values, i);
  return NULL;
}

static void
assert_nodes_equal (const CofferNode *a, const CofferNode *b)
{
  guint a_xattrs = a->xattr_names != NULL ? a->xattr_names->len : 0;
  guint b_xattrs = b->xattr_names != NULL ? b->xattr_names->len : 0;
  guint a_chunks = a->chunks != NULL ? a->chunks->len : 0;
  guint b_chunks = b->chunks != NULL ? b->chunks->len : 0;

  g_assert_cmpstr (a->name, ==, b->name);
  g_assert_cmpint (a->type, ==, b->type);
  g_assert_cmpuint (a->mode, ==, b->mode);
  g_assert_cmpuint (a->uid, ==, b->uid);
  g_assert_cmpuint (a->gid, ==, b->gid);
  g_assert_cmpstr (a->user, ==, b->user);
  g_assert_cmpstr (a->group, ==, b->group);
  g_assert_cmpint (a->mtime_ns, ==, b->mtime_ns);
  g_assert_cmpint (a->ctime_ns, ==, b->ctime_ns);
  g_assert_cmpuint (a->size, ==, b->size);
  g_assert_cmpuint (a->hardlink_group, ==, b->hardlink_group);
  g_assert_cmpuint (a->rdev, ==, b->rdev);
  g_assert_cmpstr (a->link_target, ==, b->link_target);

  g_assert_cmpuint (a_xattrs, ==, b_xattrs);
  for (guint i = 0; i < a_xattrs; i++)
    {
      GBytes *other = xattr_value (b, g_ptr_array_index (a->xattr_names, i));

      g_assert_nonnull (other);
      g_assert_true (g_bytes_equal (g_ptr_array_index (a->xattr_values, i), other));
    }

  g_assert_cmpint (a->extents != NULL, ==, b->extents != NULL);
  if (a->extents != NULL)
    g_assert_cmpmem (a->extents->data, a->extents->len * sizeof (CofferExtent), b->extents->data,
                     b->extents->len * sizeof (CofferExtent));

  g_assert_cmpuint (a_chunks, ==, b_chunks);
  if (a_chunks > 0)
    g_assert_cmpmem (a->chunks->data, a_chunks * COFFER_TREE_ID_SIZE, b->chunks->data,
                     b_chunks * COFFER_TREE_ID_SIZE);

  g_assert_cmpint (a->has_subtree, ==, b->has_subtree);
  if (a->has_subtree)
    g_assert_cmpmem (a->subtree, COFFER_TREE_ID_SIZE, b->subtree, COFFER_TREE_ID_SIZE);
}

static const CofferNode *
find_node (GPtrArray *nodes, const char *name)
{
  for (guint i = 0; i < nodes->len; i++)
    {
      const CofferNode *node = g_ptr_array_index (nodes, i);

      if (strcmp (node->name, name) == 0)
        return node;
    }
  return NULL;
}

static GPtrArray *
parse_ok (GBytes *tree)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *nodes = coffer_tree_parse (tree, &error);

  g_assert_no_error (error);
  g_assert_nonnull (nodes);
  return nodes;
}

static void
test_round_trip (void)
{
  g_autoptr (GPtrArray) nodes = sample_nodes ();
  g_autoptr (GPtrArray) reversed = g_ptr_array_new ();
  g_autoptr (GBytes) tree = coffer_tree_serialize (nodes);
  g_autoptr (GBytes) tree_reversed = NULL;
  g_autoptr (GBytes) again = NULL;
  g_autoptr (GPtrArray) parsed = parse_ok (tree);

  g_assert_cmpuint (parsed->len, ==, nodes->len);
  for (guint i = 0; i < nodes->len; i++)
    {
      const CofferNode *node = g_ptr_array_index (nodes, i);
      const CofferNode *back = find_node (parsed, node->name);

      g_assert_nonnull (back);
      assert_nodes_equal (node, back);
    }

  /* Sorted bytewise: NFD "cafe\xcc\x81" before NFC "caf\xc3\xa9" is not
   * what a locale would say, but it is what strcmp says. */
  for (guint i = 1; i < parsed->len; i++)
    {
      const CofferNode *before = g_ptr_array_index (parsed, i - 1);
      const CofferNode *after = g_ptr_array_index (parsed, i);

      g_assert_cmpint (strcmp (before->name, after->name), <, 0);
    }
  /* Files get a chunk array, others none. */
  g_assert_nonnull (find_node (parsed, "-rf")->chunks);
  g_assert_null (find_node (parsed, "pipe")->chunks);
  g_assert_null (find_node (parsed, "-rf")->xattr_names);

  /* The same entries in another order give the same bytes, and so does
   * writing what was read. */
  for (guint i = nodes->len; i > 0; i--)
    g_ptr_array_add (reversed, g_ptr_array_index (nodes, i - 1));
  tree_reversed = coffer_tree_serialize (reversed);
  g_assert_true (g_bytes_equal (tree, tree_reversed));
  again = coffer_tree_serialize (parsed);
  g_assert_true (g_bytes_equal (tree, again));
  /* The caller's array keeps its order. */
  g_assert_true (g_ptr_array_index (reversed, 0) == g_ptr_array_index (nodes, nodes->len - 1));
}

static void
test_empty (void)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new ();
  g_autoptr (GBytes) tree = coffer_tree_serialize (nodes);
  g_autoptr (GPtrArray) parsed = parse_ok (tree);

  g_assert_cmpuint (g_bytes_get_size (tree), ==, HEADER_SIZE);
  g_assert_cmpuint (parsed->len, ==, 0);
}

static void
test_xattr_order (void)
{
  g_autoptr (CofferNode) a = node_new ("f", COFFER_NODE_FILE);
  g_autoptr (CofferNode) b = node_new ("f", COFFER_NODE_FILE);
  g_autoptr (GPtrArray) one = g_ptr_array_new ();
  g_autoptr (GPtrArray) other = g_ptr_array_new ();
  g_autoptr (GBytes) tree_a = NULL;
  g_autoptr (GBytes) tree_b = NULL;
  g_autoptr (GPtrArray) parsed = NULL;
  const CofferNode *back;

  add_xattr (a, "user.b", "2", 1);
  add_xattr (a, "trusted.c", "3", 1);
  add_xattr (a, "user.a", "1", 1);
  add_xattr (b, "user.a", "1", 1);
  add_xattr (b, "user.b", "2", 1);
  add_xattr (b, "trusted.c", "3", 1);
  g_ptr_array_add (one, a);
  g_ptr_array_add (other, b);
  tree_a = coffer_tree_serialize (one);
  tree_b = coffer_tree_serialize (other);
  g_assert_true (g_bytes_equal (tree_a, tree_b));

  parsed = parse_ok (tree_a);
  back = g_ptr_array_index (parsed, 0);
  g_assert_cmpuint (back->xattr_names->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (back->xattr_names, 0), ==, "trusted.c");
  g_assert_cmpstr (g_ptr_array_index (back->xattr_names, 1), ==, "user.a");
  g_assert_cmpstr (g_ptr_array_index (back->xattr_names, 2), ==, "user.b");
  assert_nodes_equal (a, back);
}

static void
test_name_is_valid (void)
{
  g_assert_true (coffer_tree_name_is_valid ("a", 1));
  g_assert_true (coffer_tree_name_is_valid ("...", 3));
  g_assert_true (coffer_tree_name_is_valid (".a", 2));
  g_assert_true (coffer_tree_name_is_valid ("\xff\n", 2));
  g_assert_false (coffer_tree_name_is_valid ("", 0));
  g_assert_false (coffer_tree_name_is_valid (".", 1));
  g_assert_false (coffer_tree_name_is_valid ("..", 2));
  g_assert_false (coffer_tree_name_is_valid ("a/b", 3));
  g_assert_false (coffer_tree_name_is_valid ("/", 1));
  g_assert_false (coffer_tree_name_is_valid ("a\0b", 3));
  /* The length rules, not the NUL that ends a C string. */
  g_assert_false (coffer_tree_name_is_valid ("..x", 2));
  g_assert_true (coffer_tree_name_is_valid ("..x", 3));
}

/* A one-entry tree whose entry is named by @length raw bytes, made by
 * splicing them over the name of a written tree. */
static GBytes *
tree_named (const char *name, gsize length)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  g_autoptr (GBytes) tree = NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  const guint8 *data;
  gsize size;
  guint8 le[2] = { length & 0xff, length >> 8 };

  g_ptr_array_add (nodes, node_new ("x", COFFER_NODE_FIFO));
  tree = coffer_tree_serialize (nodes);
  data = g_bytes_get_data (tree, &size);
  g_assert_cmpuint (data[FIRST_NAME_LENGTH], ==, 1);
  g_assert_cmpuint (data[FIRST_NAME], ==, 'x');

  g_byte_array_append (out, data, FIRST_NAME_LENGTH);
  g_byte_array_append (out, le, 2);
  g_byte_array_append (out, (const guint8 *) name, length);
  g_byte_array_append (out, data + FIRST_NAME + 1, size - FIRST_NAME - 1);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
assert_corrupt (GBytes *tree, const char *expected_text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) nodes = coffer_tree_parse (tree, &error);

  g_assert_error (error, COFFER_ERROR, COFFER_ERROR_CORRUPT);
  g_assert_null (nodes);
  g_assert_true (g_str_has_prefix (error->message, "corrupt tree: "));
  if (expected_text != NULL && strstr (error->message, expected_text) == NULL)
    g_error ("“%s” does not say “%s”", error->message, expected_text);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
test_invalid_names (void)
{
  static const struct
  {
    const char *name;
    gsize length;
  } invalid[] = {
    { "", 0 },        { ".", 1 },    { "..", 2 },         { "/", 1 },    { "a/b", 3 },
    { "../etc", 6 },  { "a/", 2 },   { "\0", 1 },         { "a\0b", 3 }, { "..\0", 3 },
    { "\xff/\n", 3 }, { "/etc", 4 }, { "a\0/..\xff", 6 },
  };
  g_autofree char *too_long = g_malloc (COFFER_TREE_NAME_MAX + 1);

  /* A valid name spliced in the same way reads back: the splicing is right. */
  {
    g_autoptr (GBytes) tree = tree_named ("ok\n\xff", 4);
    g_autoptr (GPtrArray) nodes = parse_ok (tree);

    g_assert_cmpstr (((CofferNode *) g_ptr_array_index (nodes, 0))->name, ==, "ok\n\xff");
  }

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr (GBytes) tree = tree_named (invalid[i].name, invalid[i].length);

      g_test_message ("name %u", i);
      g_assert_false (coffer_tree_name_is_valid (invalid[i].name, invalid[i].length));
      assert_corrupt (tree, "entry name");
    }

  memset (too_long, 'a', COFFER_TREE_NAME_MAX + 1);
  {
    g_autoptr (GBytes) longest = tree_named (too_long, COFFER_TREE_NAME_MAX);
    g_autoptr (GBytes) tree = tree_named (too_long, COFFER_TREE_NAME_MAX + 1);
    g_autoptr (GPtrArray) nodes = parse_ok (longest);

    assert_corrupt (tree, "entry name");
  }
}

/* Replaces the first occurrence of @from with @to (as long) in a tree. */
static GBytes *
patched (GBytes *tree, const char *from, const char *to, gsize length)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (tree, &size);
  guint8 *copy = g_memdup2 (data, size);
  guint8 *at = memmem (copy, size, from, length);

  g_assert_nonnull (at);
  memcpy (at, to, length);
  return g_bytes_new_take (copy, size);
}

static void
test_order (void)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  g_autoptr (GBytes) tree = NULL;
  g_autoptr (GBytes) repeated = NULL;
  g_autoptr (GBytes) unsorted = NULL;
  g_autoptr (GBytes) xattr_repeated = NULL;
  g_autoptr (GBytes) xattr_unsorted = NULL;
  g_autoptr (GPtrArray) parsed = NULL;
  CofferNode *node;

  g_ptr_array_add (nodes, node_new ("m1", COFFER_NODE_FIFO));
  node = node_new ("m2", COFFER_NODE_FILE);
  add_xattr (node, "user.k1", "", 0);
  add_xattr (node, "user.k2", "", 0);
  g_ptr_array_add (nodes, node);
  tree = coffer_tree_serialize (nodes);
  parsed = parse_ok (tree);
  g_assert_cmpuint (parsed->len, ==, 2);

  repeated = patched (tree, "m2", "m1", 2);
  assert_corrupt (repeated, "out of order or repeated");
  unsorted = patched (tree, "m2", "m0", 2);
  assert_corrupt (unsorted, "out of order or repeated");
  xattr_repeated = patched (tree, "user.k2", "user.k1", 7);
  assert_corrupt (xattr_repeated, "extended attributes are out of order");
  xattr_unsorted = patched (tree, "user.k2", "user.k0", 7);
  assert_corrupt (xattr_unsorted, "extended attributes are out of order");
}

static void
test_newer_format (void)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  g_autoptr (GBytes) tree = NULL;
  const guint8 *data;
  gsize size;
  struct
  {
    gsize offset;
    guint8 value;
    int code;
  } cases[] = {
    { 4, 2, COFFER_ERROR_NEWER_FORMAT },     /* format 2 */
    { 7, 1, COFFER_ERROR_NEWER_FORMAT },     /* format 2^24 + 1 */
    { 4, 0, COFFER_ERROR_CORRUPT },          /* format 0 */
    { 0, 'X', COFFER_ERROR_CORRUPT },        /* not a tree */
    { 12, 7, COFFER_ERROR_NEWER_FORMAT },    /* a new entry type */
    { 12, 0, COFFER_ERROR_CORRUPT },         /* no type */
    { 13, 0x80, COFFER_ERROR_NEWER_FORMAT }, /* a new flag */
    { 13, 0x04, COFFER_ERROR_CORRUPT },      /* a fifo with extents */
    { 13, 0x08, COFFER_ERROR_CORRUPT },      /* a fifo with a subtree */
    { 8, 2, COFFER_ERROR_CORRUPT },          /* two entries, one written */
    { 18, 0x81, COFFER_ERROR_CORRUPT },      /* mode 0100644: a file type in the mode */
  };

  g_ptr_array_add (nodes, node_new ("p", COFFER_NODE_FIFO));
  tree = coffer_tree_serialize (nodes);
  data = g_bytes_get_data (tree, &size);
  g_assert_cmpmem (data, 4, "CTRE", 4);
  g_assert_cmpuint (data[4], ==, COFFER_TREE_FORMAT);
  g_assert_cmpuint (data[8], ==, 1);
  g_assert_cmpuint (data[12], ==, COFFER_NODE_FIFO);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      guint8 *copy = g_memdup2 (data, size);
      g_autoptr (GBytes) changed = NULL;
      g_autoptr (GPtrArray) parsed = NULL;

      copy[cases[i].offset] = cases[i].value;
      changed = g_bytes_new_take (copy, size);
      parsed = coffer_tree_parse (changed, &error);
      g_test_message ("case %u: %s", i, error != NULL ? error->message : "parsed");
      g_assert_error (error, COFFER_ERROR, cases[i].code);
      g_assert_null (parsed);
    }
}

/* A file named "f" without owner names or xattrs has its extent count at
 * 12 + 1 + 1 + 2 + 1 + 3 × 4 + 4 × 8 + 2 = 63 (FORMAT.md). */
#define F_EXTENT_COUNT 63
#define F_EXTENTS (F_EXTENT_COUNT + 4)

static GBytes *
tree_with_extents (guint64 size, const guint64 *pairs, guint n_pairs)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) coffer_node_free);
  g_autoptr (GBytes) tree = NULL;
  CofferNode *node = node_new ("f", COFFER_NODE_FILE);
  guint8 *copy;
  gsize length;

  node->size = size;
  /* Written as valid extents, then overwritten with the ones wanted. */
  for (guint i = 0; i < n_pairs; i++)
    add_extent (node, i * 2, 1);
  g_ptr_array_add (nodes, node);
  tree = coffer_tree_serialize (nodes);
  copy = g_bytes_unref_to_data (g_steal_pointer (&tree), &length);
  g_assert_cmpuint (copy[F_EXTENT_COUNT], ==, n_pairs);
  for (guint i = 0; i < n_pairs * 2; i++)
    {
      guint64 le = GUINT64_TO_LE (pairs[i]);

      memcpy (copy + F_EXTENTS + i * 8, &le, 8);
    }
  return g_bytes_new_take (copy, length);
}

static void
test_extents (void)
{
  static const guint64 good[] = { 0, 10, 10, 5, 100, 900 };
  static const guint64 overlapping[] = { 0, 10, 9, 5 };
  static const guint64 unsorted[] = { 100, 10, 0, 5 };
  static const guint64 empty[] = { 0, 10, 20, 0 };
  static const guint64 beyond[] = { 990, 11 };
  static const guint64 wrapping[] = { 10, G_MAXUINT64 - 5 };
  g_autoptr (GBytes) tree = tree_with_extents (1000, good, 3);
  g_autoptr (GPtrArray) parsed = parse_ok (tree);
  const CofferNode *node = g_ptr_array_index (parsed, 0);

  g_assert_cmpuint (node->extents->len, ==, 3);
  g_assert_cmpuint (g_array_index (node->extents, CofferExtent, 2).offset, ==, 100);
  g_assert_cmpuint (g_array_index (node->extents, CofferExtent, 2).length, ==, 900);

#define ASSERT_BAD(pairs)                                                                          \
  {                                                                                                \
    g_autoptr (GBytes) bad = tree_with_extents (1000, pairs, G_N_ELEMENTS (pairs) / 2);            \
    assert_corrupt (bad, "extent");                                                                \
  }
  ASSERT_BAD (overlapping);
  ASSERT_BAD (unsorted);
  ASSERT_BAD (empty);
  ASSERT_BAD (beyond);
  ASSERT_BAD (wrapping);
#undef ASSERT_BAD
}

static void
test_truncated (void)
{
  g_autoptr (GPtrArray) nodes = sample_nodes ();
  g_autoptr (GBytes) tree = coffer_tree_serialize (nodes);
  gsize size;
  const guint8 *data = g_bytes_get_data (tree, &size);
  g_autofree guint8 *longer = g_malloc (size + 1);

  for (gsize length = 0; length < size; length++)
    {
      g_autoptr (GBytes) cut = g_bytes_new (data, length);

      assert_corrupt (cut, NULL);
    }
  memcpy (longer, data, size);
  longer[size] = 0;
  {
    g_autoptr (GBytes) trailing = g_bytes_new (longer, size + 1);

    assert_corrupt (trailing, "follow the last entry");
  }
}

static void
mutate (GByteArray *bytes)
{
  guint kind = g_test_rand_int_range (0, 7);
  guint at = bytes->len > 0 ? g_test_rand_int_range (0, bytes->len) : 0;
  guint8 extreme[] = { 0x00, 0xff, 0x7f, 0x80, 0x01, '/', '.' };
  guint8 byte = (guint8) g_test_rand_int_range (0, 256);

  if (bytes->len == 0)
    kind = 3;
  switch (kind)
    {
      case 0: /* flip a bit */
        bytes->data[at] ^= 1 << g_test_rand_int_range (0, 8);
        break;
      case 1: /* a random byte */
        bytes->data[at] = byte;
        break;
      case 2: /* an extreme value */
        bytes->data[at] = extreme[g_test_rand_int_range (0, G_N_ELEMENTS (extreme))];
        break;
      case 3: /* insert */
        g_byte_array_set_size (bytes, bytes->len + 1);
        memmove (bytes->data + at + 1, bytes->data + at, bytes->len - at - 1);
        bytes->data[at] = byte;
        break;
      case 4: /* delete */
        g_byte_array_remove_index (bytes, at);
        break;
      case 5: /* truncate */
        g_byte_array_set_size (bytes, at);
        break;
      case 6: /* a large length or count */
        for (guint i = at; i < MIN (at + 4, bytes->len); i++)
          bytes->data[i] = 0xff;
        break;
      default:
        g_assert_not_reached ();
    }
}

static void
test_mutations (void)
{
  g_autoptr (GPtrArray) nodes = sample_nodes ();
  g_autoptr (GBytes) tree = coffer_tree_serialize (nodes);
  guint parsed_count = 0;

  for (guint round = 0; round < 5000; round++)
    {
      g_autoptr (GByteArray) bytes = g_byte_array_new ();
      g_autoptr (GBytes) mutated = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) parsed = NULL;
      guint mutations = g_test_rand_int_range (1, 4);

      g_byte_array_append (bytes, g_bytes_get_data (tree, NULL), g_bytes_get_size (tree));
      for (guint i = 0; i < mutations; i++)
        mutate (bytes);
      mutated = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
      parsed = coffer_tree_parse (mutated, &error);
      if (parsed == NULL)
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == COFFER_ERROR);
          g_assert_true (error->code == COFFER_ERROR_CORRUPT ||
                         error->code == COFFER_ERROR_NEWER_FORMAT);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
          continue;
        }
      g_assert_no_error (error);
      parsed_count++;
      for (guint i = 0; i < parsed->len; i++)
        {
          const CofferNode *node = g_ptr_array_index (parsed, i);

          g_assert_true (coffer_tree_name_is_valid (node->name, strlen (node->name)));
          if (i > 0)
            g_assert_cmpint (
                strcmp (((CofferNode *) g_ptr_array_index (parsed, i - 1))->name, node->name), <,
                0);
        }
      /* Whatever is accepted is exactly what the writer would write. */
      {
        g_autoptr (GBytes) again = coffer_tree_serialize (parsed);

        g_assert_true (g_bytes_equal (again, mutated));
      }
    }
  /* Some mutations (a time, a mode bit, a chunk id) leave a valid tree. */
  g_assert_cmpuint (parsed_count, >, 0);
  g_test_message ("%u of 5000 mutated trees were still valid", parsed_count);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/libcoffer/tree/round-trip-every-field-and-odd-names", test_round_trip);
  g_test_add_func ("/libcoffer/tree/empty-folder", test_empty);
  g_test_add_func ("/libcoffer/tree/xattrs-written-sorted", test_xattr_order);
  g_test_add_func ("/libcoffer/tree/name-is-valid", test_name_is_valid);
  g_test_add_func ("/libcoffer/tree/invalid-names-are-corrupt", test_invalid_names);
  g_test_add_func ("/libcoffer/tree/unsorted-or-repeated-names-are-corrupt", test_order);
  g_test_add_func ("/libcoffer/tree/newer-format-versus-corrupt", test_newer_format);
  g_test_add_func ("/libcoffer/tree/bad-extents-are-corrupt", test_extents);
  g_test_add_func ("/libcoffer/tree/truncated-or-trailing-is-corrupt", test_truncated);
  g_test_add_func ("/libcoffer/tree/mutations-never-yield-invalid-names", test_mutations);

  return g_test_run ();
}
