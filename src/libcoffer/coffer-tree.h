/* coffer-tree.h: what a recovery point stores about the entries of one folder,
 * and its binary form (the "Tree" section of FORMAT.md). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The current tree format. */
#define COFFER_TREE_FORMAT 1
/* Size of a chunk id and of a tree id. */
#define COFFER_TREE_ID_SIZE 32
/* Longest entry name a tree holds, in bytes: Linux allows 255, but a few
 * filesystems (NTFS, SMB) hand out up to 255 UTF-16 units, up to 765 bytes. */
#define COFFER_TREE_NAME_MAX 1024

typedef enum
{
  COFFER_NODE_FILE = 1,
  COFFER_NODE_DIR,
  COFFER_NODE_SYMLINK,
  COFFER_NODE_FIFO,
  COFFER_NODE_CHARDEV,
  COFFER_NODE_BLOCKDEV,
} CofferNodeType;

typedef struct
{
  guint64 offset;
  guint64 length;
} CofferExtent;

/* One entry of a folder. A field that does not apply to the node's type stays
 * at its zero value (NULL, 0, FALSE): coffer_tree_serialize() asserts it. */
typedef struct
{
  char *name; /* one path component, raw bytes (not necessarily UTF-8) */
  CofferNodeType type;
  guint32 mode; /* permission bits incl. setuid/setgid/sticky (st_mode & 07777) */
  guint32 uid, gid;
  char *user, *group; /* names, or NULL when unknown */
  gint64 mtime_ns, ctime_ns;
  guint64 size;            /* files and symlinks; 0 for the others */
  GPtrArray *xattr_names;  /* char*, NULL when none; owns its elements */
  GPtrArray *xattr_values; /* GBytes*, same length; owns its elements */
  char *link_target;       /* symlinks: raw bytes */
  guint64 hardlink_group;  /* 0 = not a hardlink; never set on folders */
  GArray *extents;         /* files: CofferExtent data extents of a sparse file; NULL = dense */
  guint64 rdev;            /* devices */
  GArray *chunks;          /* files: 32-byte chunk ids in order (element size 32) */
  guint8 subtree[COFFER_TREE_ID_SIZE]; /* dirs: the id of the child tree blob */
  gboolean has_subtree;
} CofferNode;

CofferNode *coffer_node_new (void);
void coffer_node_free (CofferNode *node);
void coffer_node_add_xattr (CofferNode *node, const char *name, GBytes *value);
GArray *coffer_node_chunks_new (void);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CofferNode, coffer_node_free)

GBytes *coffer_tree_serialize (GPtrArray *nodes);
GPtrArray *coffer_tree_parse (GBytes *tree, GError **error);
gboolean coffer_tree_name_is_valid (const char *name, gsize length);

G_END_DECLS
